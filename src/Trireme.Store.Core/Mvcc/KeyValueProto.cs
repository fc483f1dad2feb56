namespace Trireme.Store.Core.Mvcc;

/// <summary>
/// The protobuf encoding of mvccpb.KeyValue (fields 1 key, 2 create_revision, 3 mod_revision,
/// 4 version, 5 value, 6 lease; zero fields omitted, in field order — what etcd's generated Marshal
/// writes). It exists only so HashKV hashes the same bytes etcd hashes: equal data gives an equal hash
/// across Trireme and etcd. Written by hand because this project does not reference Google.Protobuf.
/// </summary>
internal static class KeyValueProto
{
    public static int Size(KeyValue kv)
    {
        int size = BytesField(kv.Key.Length);
        if (kv.IsTombstone)
        {
            return size;
        }

        return size + VarintField(kv.CreateRevision) + VarintField(kv.ModRevision) + VarintField(kv.Version) +
               BytesField(kv.Value.Length) + VarintField(kv.Lease);
    }

    /// <summary>Writes the encoding; a tombstone is KeyValue{Key} only, as etcd stores it.</summary>
    public static int Write(KeyValue kv, Span<byte> destination)
    {
        int at = WriteBytes(destination, 0, 1, kv.Key);
        if (kv.IsTombstone)
        {
            return at;
        }

        at = WriteVarintField(destination, at, 2, kv.CreateRevision);
        at = WriteVarintField(destination, at, 3, kv.ModRevision);
        at = WriteVarintField(destination, at, 4, kv.Version);
        at = WriteBytes(destination, at, 5, kv.Value.Span);
        return WriteVarintField(destination, at, 6, kv.Lease);
    }

    private static int BytesField(int length) => length == 0 ? 0 : 1 + VarintSize((ulong)length) + length;

    private static int VarintField(long value) => value == 0 ? 0 : 1 + VarintSize((ulong)value);

    private static int VarintSize(ulong value)
    {
        int size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }

    private static int WriteBytes(Span<byte> destination, int at, int field, ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0)
        {
            return at;
        }

        destination[at++] = (byte)((field << 3) | 2);
        at = WriteVarint(destination, at, (ulong)bytes.Length);
        bytes.CopyTo(destination[at..]);
        return at + bytes.Length;
    }

    private static int WriteVarintField(Span<byte> destination, int at, int field, long value)
    {
        if (value == 0)
        {
            return at;
        }

        destination[at++] = (byte)(field << 3);
        return WriteVarint(destination, at, (ulong)value);
    }

    private static int WriteVarint(Span<byte> destination, int at, ulong value)
    {
        while (value >= 0x80)
        {
            destination[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[at++] = (byte)value;
        return at;
    }
}
