using System.Buffers.Binary;
using System.Text;
using Trireme.Linearizability;

namespace Trireme.Raft.Simulation;

/// <summary>
/// A client's write as it travels through the log: who sent it and its sequence number (so a retried
/// command applies once, Raft §8), and the operation. Encoded by hand: it is simulator-internal.
/// </summary>
internal readonly record struct KvCommand(int ClientId, ulong Sequence, KvInput Input)
{
    private const byte Version = 1;

    public byte[] Encode()
    {
        var key = Encoding.UTF8.GetBytes(Input.Key);
        var value = Input.Value is null ? null : Encoding.UTF8.GetBytes(Input.Value);
        var expected = Input.Expected is null ? null : Encoding.UTF8.GetBytes(Input.Expected);
        var bytes = new byte[1 + 4 + 8 + 1 + (3 * 2) + key.Length + (value?.Length ?? 0) + (expected?.Length ?? 0)];
        var span = bytes.AsSpan();
        span[0] = Version;
        BinaryPrimitives.WriteInt32LittleEndian(span[1..], ClientId);
        BinaryPrimitives.WriteUInt64LittleEndian(span[5..], Sequence);
        span[13] = (byte)Input.Kind;
        var offset = 14;
        WriteString(span, ref offset, key);
        WriteString(span, ref offset, value);
        WriteString(span, ref offset, expected);
        return bytes;
    }

    public static KvCommand Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < 20 || data[0] != Version)
        {
            throw new SimulationInvariantException($"entry of {data.Length} bytes is not a simulator KV command");
        }

        var client = BinaryPrimitives.ReadInt32LittleEndian(data[1..]);
        var sequence = BinaryPrimitives.ReadUInt64LittleEndian(data[5..]);
        var kind = (KvOpKind)data[13];
        var offset = 14;
        var key = ReadString(data, ref offset) ?? "";
        var value = ReadString(data, ref offset);
        var expected = ReadString(data, ref offset);
        return new KvCommand(client, sequence, new KvInput(kind, key, value, expected));
    }

    private static void WriteString(Span<byte> span, ref int offset, byte[]? text)
    {
        BinaryPrimitives.WriteInt16LittleEndian(span[offset..], (short)(text?.Length ?? -1));
        offset += 2;
        if (text is not null)
        {
            text.CopyTo(span[offset..]);
            offset += text.Length;
        }
    }

    private static string? ReadString(ReadOnlySpan<byte> data, ref int offset)
    {
        var length = BinaryPrimitives.ReadInt16LittleEndian(data[offset..]);
        offset += 2;
        if (length < 0)
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(data.Slice(offset, length));
        offset += length;
        return text;
    }
}
