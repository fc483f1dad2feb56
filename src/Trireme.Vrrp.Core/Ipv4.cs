using System.Buffers.Binary;
using System.Globalization;

namespace Trireme.Vrrp.Core;

/// <summary>
/// An IPv4 address as its 32-bit big-endian value, so that RFC 5798's "higher primary IP address wins"
/// is a plain unsigned comparison and the core needs no System.Net types.
/// </summary>
public readonly record struct Ipv4(uint Value) : IComparable<Ipv4>
{
    public static Ipv4 Read(ReadOnlySpan<byte> bytes) => new(BinaryPrimitives.ReadUInt32BigEndian(bytes));

    public void Write(Span<byte> bytes) => BinaryPrimitives.WriteUInt32BigEndian(bytes, Value);

    public static Ipv4 Parse(string text) =>
        TryParse(text, out var address) ? address : throw new FormatException($"'{text}' is not an IPv4 address");

    public static bool TryParse(string? text, out Ipv4 address)
    {
        address = default;
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return false;
        }

        uint value = 0;
        foreach (var part in parts)
        {
            if (part.Length is 0 or > 3 || !byte.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var b))
            {
                return false;
            }

            value = (value << 8) | b;
        }

        address = new Ipv4(value);
        return true;
    }

    public int CompareTo(Ipv4 other) => Value.CompareTo(other.Value);

    public static bool operator <(Ipv4 left, Ipv4 right) => left.Value < right.Value;

    public static bool operator >(Ipv4 left, Ipv4 right) => left.Value > right.Value;

    public static bool operator <=(Ipv4 left, Ipv4 right) => left.Value <= right.Value;

    public static bool operator >=(Ipv4 left, Ipv4 right) => left.Value >= right.Value;

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Value >> 24}.{(Value >> 16) & 0xff}.{(Value >> 8) & 0xff}.{Value & 0xff}");
}
