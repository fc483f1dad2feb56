using System.Buffers.Binary;
using System.Numerics;

namespace Trireme.Store.Core;

/// <summary>
/// CRC-32C (Castagnoli), the checksum etcd's HashKV uses (Go's crc32.MakeTable(crc32.Castagnoli)) and
/// the one snapshots carry. Incremental: start from <see cref="Initial"/>, <see cref="Append"/>, then
/// <see cref="Finish"/>. BitOperations.Crc32C uses the CPU instruction where there is one.
/// </summary>
internal static class Crc32C
{
    public const uint Initial = 0xFFFFFFFF;

    public static uint Append(uint state, ReadOnlySpan<byte> data)
    {
        while (data.Length >= 8)
        {
            state = BitOperations.Crc32C(state, BinaryPrimitives.ReadUInt64LittleEndian(data));
            data = data[8..];
        }

        foreach (byte b in data)
        {
            state = BitOperations.Crc32C(state, b);
        }

        return state;
    }

    public static uint Finish(uint state) => ~state;

    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Initial, data));
}
