using System.Buffers.Binary;

namespace Trireme.Store.Transport;

/// <summary>
/// First bytes on every peer connection: <c>"TRIRAFT1" [u64 cluster id][u64 from member][u64 to member]</c>
/// from the dialer, answered by one byte (<see cref="Accepted"/> or a rejection code). A member of another
/// cluster, or a connection meant for another member (stale address after a replacement), is refused
/// before any Raft message is read.
/// </summary>
public static class PeerHandshake
{
    public const int Bytes = 8 + 24;
    public const byte Accepted = 0;
    public const byte WrongCluster = 1;
    public const byte WrongMember = 2;
    public const byte RemovedMember = 3;

    private static readonly byte[] _magic = "TRIRAFT1"u8.ToArray();

    public static byte[] Encode(ulong clusterId, ulong from, ulong to)
    {
        var bytes = new byte[Bytes];
        _magic.CopyTo(bytes, 0);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8), clusterId);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), from);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), to);
        return bytes;
    }

    public static bool TryDecode(ReadOnlySpan<byte> bytes, out ulong clusterId, out ulong from, out ulong to)
    {
        clusterId = from = to = 0;
        if (bytes.Length != Bytes || !bytes[..8].SequenceEqual(_magic))
        {
            return false;
        }

        clusterId = BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
        from = BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]);
        to = BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]);
        return true;
    }

    public static string Describe(byte code) => code switch
    {
        Accepted => "accepted",
        WrongCluster => "peer belongs to a different cluster id",
        WrongMember => "peer at that address is a different member",
        RemovedMember => "this member was removed from the cluster",
        _ => $"rejected with code {code}",
    };
}
