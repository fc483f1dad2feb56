using System.Buffers.Binary;
using System.Numerics;

namespace Trireme.Store.Wal;

/// <summary>
/// CRC-32C (Castagnoli) over spans, built on the CPU's CRC32 instruction through
/// <see cref="BitOperations.Crc32C(uint, ulong)"/>: no table, incremental (feed the previous result back).
/// </summary>
public static class Crc32C
{
    /// <summary>The CRC of <paramref name="data"/> continuing from <paramref name="crc"/> (0 to start).</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        // The standard definition pre- and post-inverts; doing both here keeps the value chainable.
        var state = ~crc;
        while (data.Length >= 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (var b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return ~state;
    }

    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);
}
