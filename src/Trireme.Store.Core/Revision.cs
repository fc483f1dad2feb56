namespace Trireme.Store.Core;

/// <summary>
/// etcd's revision: <see cref="Main"/> counts applied write transactions (one txn = one main
/// revision), <see cref="Sub"/> numbers the writes inside it from 0. Ordering is (Main, Sub), which is
/// also the byte order of <see cref="WriteTo"/>, so revision-ordered and byte-ordered agree (etcd's
/// bolt bucket is sorted by these bytes; HashKV walks it in that order).
/// </summary>
public readonly record struct Revision(long Main, long Sub) : IComparable<Revision>
{
    /// <summary>Bytes of <see cref="WriteTo"/>: 8-byte big-endian main, '_', 8-byte big-endian sub.</summary>
    public const int EncodedBytes = 17;

    public int CompareTo(Revision other)
    {
        int byMain = Main.CompareTo(other.Main);
        return byMain != 0 ? byMain : Sub.CompareTo(other.Sub);
    }

    public static bool operator <(Revision left, Revision right) => left.CompareTo(right) < 0;
    public static bool operator >(Revision left, Revision right) => left.CompareTo(right) > 0;
    public static bool operator <=(Revision left, Revision right) => left.CompareTo(right) <= 0;
    public static bool operator >=(Revision left, Revision right) => left.CompareTo(right) >= 0;

    /// <summary>etcd's revToBytes layout; used for HashKV so hashes match etcd's for equal data.</summary>
    public void WriteTo(Span<byte> destination)
    {
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(destination, Main);
        destination[8] = (byte)'_';
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(destination[9..], Sub);
    }

    public override string ToString() => $"{Main}.{Sub}";
}
