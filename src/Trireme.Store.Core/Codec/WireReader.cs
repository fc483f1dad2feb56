using System.Buffers.Binary;

namespace Trireme.Store.Core.Codec;

/// <summary>Why bytes were refused. The numbers are not persisted; they name the failure in messages.</summary>
public enum DecodeError
{
    Truncated = 1,
    VarintTooLong = 2,
    LengthOutOfRange = 3,
    UnknownVersion = 4,
    UnknownKind = 5,
    BadEnum = 6,
    TooDeep = 7,
    TrailingBytes = 8,
    BadMagic = 9,
    ChecksumMismatch = 10,
    Inconsistent = 11,
}

/// <summary>Typed rejection of undecodable command or snapshot bytes.</summary>
public sealed class StoreDecodeException : Exception
{
    public StoreDecodeException(DecodeError reason, string detail)
        : base($"{reason}: {detail}") => Reason = reason;

    public StoreDecodeException()
    {
    }

    public StoreDecodeException(string message)
        : base(message)
    {
    }

    public StoreDecodeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public DecodeError Reason { get; }
}

/// <summary>Reads what <see cref="WireWriter"/> wrote; every length is checked against what is left.</summary>
internal ref struct WireReader
{
    private ReadOnlySpan<byte> _rest;

    /// <summary>The whole input when it was given as memory (empty otherwise): <see cref="SharedBytes"/>
    /// slices it instead of copying.</summary>
    private readonly ReadOnlyMemory<byte> _origin;

    public WireReader(ReadOnlySpan<byte> data) => _rest = data;

    public WireReader(ReadOnlyMemory<byte> data)
    {
        _origin = data;
        _rest = data.Span;
    }

    public readonly int Remaining => _rest.Length;

    public byte Byte()
    {
        if (_rest.IsEmpty)
        {
            throw new StoreDecodeException(DecodeError.Truncated, "expected a byte");
        }

        byte value = _rest[0];
        _rest = _rest[1..];
        return value;
    }

    public bool Bool() => Byte() switch
    {
        0 => false,
        1 => true,
        var other => throw new StoreDecodeException(DecodeError.BadEnum, $"boolean byte {other}"),
    };

    public ulong UVarint()
    {
        ulong value = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            byte b = Byte();
            if (shift == 63 && b > 1)
            {
                break;
            }

            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                // Only the shortest encoding is accepted, so accepted bytes re-encode identically.
                if (b == 0 && shift > 0)
                {
                    throw new StoreDecodeException(DecodeError.VarintTooLong, "varint with a redundant zero byte");
                }

                return value;
            }
        }

        throw new StoreDecodeException(DecodeError.VarintTooLong, "varint longer than 64 bits");
    }

    public long Varint()
    {
        ulong raw = UVarint();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    /// <summary>A count of items that each take at least one byte: cannot exceed what is left.</summary>
    public int Count()
    {
        ulong count = UVarint();
        if (count > (ulong)_rest.Length)
        {
            throw new StoreDecodeException(DecodeError.LengthOutOfRange, $"count {count} with {_rest.Length} bytes left");
        }

        return (int)count;
    }

    public byte[] Bytes()
    {
        int length = Count();
        byte[] value = _rest[..length].ToArray();
        _rest = _rest[length..];
        return value;
    }

    /// <summary>Like <see cref="Bytes"/>, but a slice of the input when it was given as memory (the caller
    /// must know those bytes are never changed); a copy otherwise.</summary>
    public ReadOnlyMemory<byte> SharedBytes()
    {
        if (_origin.IsEmpty)
        {
            return Bytes();
        }

        int length = Count();
        ReadOnlyMemory<byte> value = _origin.Slice(_origin.Length - _rest.Length, length);
        _rest = _rest[length..];
        return value;
    }

    public uint UInt32()
    {
        if (_rest.Length < 4)
        {
            throw new StoreDecodeException(DecodeError.Truncated, "expected 4 bytes");
        }

        uint value = BinaryPrimitives.ReadUInt32LittleEndian(_rest);
        _rest = _rest[4..];
        return value;
    }

    public TEnum Enum<TEnum>(int max)
        where TEnum : struct, System.Enum
    {
        byte value = Byte();
        if (value > max)
        {
            throw new StoreDecodeException(DecodeError.BadEnum, $"{typeof(TEnum).Name} value {value}");
        }

        return (TEnum)(object)(int)value;
    }

    public readonly void End()
    {
        if (!_rest.IsEmpty)
        {
            throw new StoreDecodeException(DecodeError.TrailingBytes, $"{_rest.Length} bytes after the end");
        }
    }
}
