using System.Buffers.Binary;

namespace Trireme.Store.Core.Codec;

/// <summary>
/// Appends the primitives of the command and snapshot formats (LEB128 varints, zigzag for signed values,
/// length-prefixed bytes) to a growable array.
/// A counting writer (<see cref="Counting"/>) stores nothing and only adds up the length, so a large
/// encoding can be sized first and then written once into an array of exactly that size.
/// </summary>
internal sealed class WireWriter
{
    private byte[]? _array;
    private int _length;

    public WireWriter(int initialCapacity = 256) => _array = new byte[Math.Max(initialCapacity, 16)];

    private WireWriter() => _array = null;

    /// <summary>A writer that stores nothing: <see cref="Length"/> is what the same calls would write.</summary>
    public static WireWriter Counting() => new();

    public int Length => _length;

    public ReadOnlySpan<byte> Written => _array.AsSpan(0, _length);

    public int Capacity => _array?.Length ?? 0;

    /// <summary>Starts over, keeping the buffer (its old bytes are overwritten as new ones are written).</summary>
    public void Reset() => _length = 0;

    /// <summary>The written bytes as an array: the buffer itself when it is exactly full, else a copy.</summary>
    public byte[] ToArray()
    {
        if (_array is null)
        {
            throw new InvalidOperationException("a counting writer holds no bytes");
        }

        return _length == _array.Length ? _array : _array.AsSpan(0, _length).ToArray();
    }

    public void Byte(byte value)
    {
        Span<byte> span = Take(1);
        if (!span.IsEmpty)
        {
            span[0] = value;
        }
    }

    public void Bool(bool value) => Byte(value ? (byte)1 : (byte)0);

    public void UVarint(ulong value)
    {
        int size = UVarintSize(value);
        Span<byte> span = Take(size);
        if (span.IsEmpty)
        {
            return;
        }

        int at = 0;
        while (value >= 0x80)
        {
            span[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[at] = (byte)value;
    }

    public void Varint(long value) => UVarint((ulong)((value << 1) ^ (value >> 63)));

    public void Bytes(ReadOnlySpan<byte> value)
    {
        UVarint((ulong)value.Length);
        Raw(value);
    }

    public void Raw(ReadOnlySpan<byte> value)
    {
        Span<byte> span = Take(value.Length);
        if (!span.IsEmpty)
        {
            value.CopyTo(span);
        }
    }

    /// <summary>Leaves <paramref name="count"/> bytes as they are (zeros in a fresh buffer).</summary>
    public void Skip(int count) => Take(count);

    public void UInt32(uint value)
    {
        Span<byte> span = Take(4);
        if (!span.IsEmpty)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(span, value);
        }
    }

    /// <summary>Bytes of a LEB128 varint: one per started group of 7 bits (0 takes one byte).</summary>
    private static int UVarintSize(ulong value) => (System.Numerics.BitOperations.Log2(value | 1) / 7) + 1;

    /// <summary>The next <paramref name="count"/> bytes to fill (empty for a counting writer), grown as needed.</summary>
    private Span<byte> Take(int count)
    {
        int at = _length;
        _length = checked(_length + count);
        if (_array is null)
        {
            return [];
        }

        if (_length > _array.Length)
        {
            Array.Resize(ref _array, (int)Math.Min(Array.MaxLength, Math.Max((long)_array.Length * 2, _length)));
        }

        return _array.AsSpan(at, count);
    }
}
