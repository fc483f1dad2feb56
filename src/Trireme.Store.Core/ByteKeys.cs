namespace Trireme.Store.Core;

/// <summary>
/// Keys are byte strings ordered bytewise, as in etcd. This holds the ordering and the range
/// conventions etcd's API uses so every component reads them the same way:
/// an empty range_end means "just this key", a range_end of a single 0 byte means "every key from
/// key on", anything else is the half-open interval [key, range_end).
/// </summary>
public sealed class ByteKeys : IComparer<byte[]>, IEqualityComparer<byte[]>
{
    public static readonly ByteKeys Instance = new();

    private ByteKeys()
    {
    }

    public int Compare(byte[]? x, byte[]? y) => x.AsSpan().SequenceCompareTo(y);

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj)
    {
        // Deterministic (no per-process seed) so nothing about hashing can differ between members.
        uint hash = 2166136261;
        foreach (byte b in obj)
        {
            hash = (hash ^ b) * 16777619;
        }

        return (int)hash;
    }

    /// <summary>True when range_end is the single 0 byte: "from key to the end of the key space".</summary>
    public static bool IsFromKey(ReadOnlySpan<byte> rangeEnd) => rangeEnd.Length == 1 && rangeEnd[0] == 0;

    /// <summary>Whether <paramref name="candidate"/> falls in the range (key, range_end) as etcd reads it.</summary>
    public static bool InRange(ReadOnlySpan<byte> key, ReadOnlySpan<byte> rangeEnd, ReadOnlySpan<byte> candidate)
    {
        if (rangeEnd.Length == 0)
        {
            return candidate.SequenceEqual(key);
        }

        if (candidate.SequenceCompareTo(key) < 0)
        {
            return false;
        }

        return IsFromKey(rangeEnd) || candidate.SequenceCompareTo(rangeEnd) < 0;
    }

    /// <summary>
    /// The range_end clients compute for a prefix (clientv3.GetPrefixRangeEnd): increment the last byte
    /// that is not 0xff and cut after it; all 0xff (or empty) means "to the end" (a single 0 byte).
    /// </summary>
    public static byte[] PrefixEnd(ReadOnlySpan<byte> prefix)
    {
        for (int i = prefix.Length - 1; i >= 0; i--)
        {
            if (prefix[i] < 0xff)
            {
                byte[] end = prefix[..(i + 1)].ToArray();
                end[i]++;
                return end;
            }
        }

        return [0];
    }
}
