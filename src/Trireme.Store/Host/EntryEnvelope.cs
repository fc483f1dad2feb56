using System.Buffers.Binary;

namespace Trireme.Store.Host;

/// <summary>
/// The host's framing of a Normal Raft entry: <c>[u8 kind][u64 proposer member id][u64 request id][body]</c>.
/// The request id lets the proposing member complete the waiting client call when the entry applies
/// (on any member, an entry proposed elsewhere is simply applied). An empty entry is the leader's no-op.
/// Kind values are persisted in the log: frozen by a test.
/// </summary>
public static class EntryEnvelope
{
    public const byte StoreCommand = 1;
    public const byte MemberAttributes = 2;
    public const int HeaderBytes = 17;

    public static byte[] Encode(byte kind, ulong proposer, ulong requestId, ReadOnlySpan<byte> body)
    {
        var bytes = new byte[HeaderBytes + body.Length];
        WriteHeader(bytes, kind, proposer, requestId);
        body.CopyTo(bytes.AsSpan(HeaderBytes));
        return bytes;
    }

    /// <summary>Fills the first <see cref="HeaderBytes"/> of an entry whose body is already in place.</summary>
    public static void WriteHeader(Span<byte> entry, byte kind, ulong proposer, ulong requestId)
    {
        entry[0] = kind;
        BinaryPrimitives.WriteUInt64LittleEndian(entry[1..], proposer);
        BinaryPrimitives.WriteUInt64LittleEndian(entry[9..], requestId);
    }

    public static bool TryDecode(ReadOnlySpan<byte> data, out byte kind, out ulong proposer, out ulong requestId, out ReadOnlySpan<byte> body)
    {
        kind = 0;
        proposer = requestId = 0;
        body = default;
        if (data.Length < HeaderBytes)
        {
            return false;
        }

        kind = data[0];
        proposer = BinaryPrimitives.ReadUInt64LittleEndian(data[1..]);
        requestId = BinaryPrimitives.ReadUInt64LittleEndian(data[9..]);
        body = data[HeaderBytes..];
        return true;
    }
}
