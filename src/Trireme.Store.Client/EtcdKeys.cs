using Google.Protobuf;

namespace Trireme.Store.Client;

/// <summary>Key helpers with etcd's range conventions.</summary>
public static class EtcdKeys
{
    /// <summary>range_end "\0": with a key, every key >= key; with key "\0" too, the whole key space.</summary>
    public static readonly ByteString FromKeyEnd = ByteString.CopyFrom(0);

    /// <summary>
    /// range_end covering every key with <paramref name="prefix"/>: the prefix with its last byte
    /// below 0xff incremented and what follows dropped; an all-0xff (or empty) prefix gives "\0",
    /// i.e. to the end of the key space (clientv3's GetPrefixRangeEnd).
    /// </summary>
    public static ByteString PrefixEnd(ByteString prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        byte[] end = prefix.ToByteArray();
        for (int i = end.Length - 1; i >= 0; i--)
        {
            if (end[i] < 0xFF)
            {
                end[i]++;
                return ByteString.CopyFrom(end, 0, i + 1);
            }
        }

        return FromKeyEnd;
    }

    public static ByteString PrefixEnd(string prefix) => PrefixEnd(ByteString.CopyFromUtf8(prefix));

    public static ByteString Key(string key) => ByteString.CopyFromUtf8(key);
}
