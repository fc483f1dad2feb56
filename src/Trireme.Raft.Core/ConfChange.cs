using System.Buffers.Binary;

namespace Trireme.Raft.Core;

/// <summary>Kinds of single-node membership change. Persisted inside log entries: values frozen by a test.</summary>
public enum ConfChangeType : byte
{
    AddVoter = 0,
    AddLearner = 1,
    RemoveNode = 2,
    PromoteLearner = 3,
}

/// <summary>
/// One membership change, carried in a ConfChange log entry. It takes effect on every node when the
/// entry is applied (at Advance), never when it is merely appended, so all nodes switch at the same
/// log position. Encoding: [type:1][nodeId:8 little-endian][context...].
/// </summary>
public readonly record struct ConfChange(ConfChangeType Type, ulong NodeId, ReadOnlyMemory<byte> Context)
{
    private const int HeaderBytes = 1 + sizeof(ulong);

    public byte[] Encode()
    {
        var bytes = new byte[HeaderBytes + Context.Length];
        bytes[0] = (byte)Type;
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(1), NodeId);
        Context.Span.CopyTo(bytes.AsSpan(HeaderBytes));
        return bytes;
    }

    /// <summary>Decodes an entry's data; false for anything malformed (unknown type, node 0, short).</summary>
    public static bool TryDecode(ReadOnlySpan<byte> data, out ConfChange change)
    {
        change = default;
        if (data.Length < HeaderBytes || data[0] > (byte)ConfChangeType.PromoteLearner)
        {
            return false;
        }

        var nodeId = BinaryPrimitives.ReadUInt64LittleEndian(data[1..]);
        if (nodeId == 0)
        {
            return false;
        }

        change = new ConfChange((ConfChangeType)data[0], nodeId, data[HeaderBytes..].ToArray());
        return true;
    }
}
