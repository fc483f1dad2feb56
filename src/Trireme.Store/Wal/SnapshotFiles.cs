using System.Buffers.Binary;
using System.Diagnostics;

namespace Trireme.Store.Wal;

/// <summary>A state-machine snapshot plus the Raft metadata it was taken at.</summary>
public sealed record StoredSnapshot(
    ulong Index, ulong Term, IReadOnlyList<ulong> Voters, IReadOnlyList<ulong> Learners, ReadOnlyMemory<byte> Data);

/// <summary>
/// Snapshot files in one directory, named <c>{term:x16}-{index:x16}.snap</c>. Format:
/// <c>"TRISNAP1" [u64 index][u64 term][u32 n][u64 voter]*n [u32 m][u64 learner]*m [u64 len][data][u32 CRC-32C
/// of everything before]</c>, all little-endian. Written to a temp file, fsynced, renamed over, then the
/// directory is fsynced, so a crash leaves either the old set or the new file complete. Loading takes the
/// newest file whose CRC checks; a damaged newer file is skipped (noted) rather than trusted.
/// </summary>
public sealed class SnapshotFiles(string directory)
{
    private static readonly byte[] _magic = "TRISNAP1"u8.ToArray();

    /// <summary>Older snapshots kept besides the newest, in case the newest turns out unreadable.</summary>
    public const int RetainedOlderSnapshots = 1;

    public string Directory { get; } = directory;

    /// <summary>A snapshot file is flushed to disk every this many bytes while it is written.</summary>
    public const int FlushEveryBytes = 4 * 1024 * 1024;

    /// <summary>The longest pause a paced <see cref="Save"/> makes after one slice.</summary>
    public static readonly TimeSpan MaxPausePerSlice = TimeSpan.FromMilliseconds(100);

    /// <summary>Writes <paramref name="snapshot"/> durably. <paramref name="paced"/>: after each flushed
    /// slice, pause as long as writing and flushing it took (at most <see cref="MaxPausePerSlice"/>), so
    /// the disk is the snapshot's at most half the time and the WAL's fsyncs, which every write waits
    /// for, get the rest — for a member's own background snapshots; the calling thread sleeps.</summary>
    public string Save(StoredSnapshot snapshot, bool paced = false)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, $"{snapshot.Term:x16}-{snapshot.Index:x16}.snap");
        // Header, data and CRC go to the file one after the other: the data (tens of MB for a large
        // history) is not copied into one more array just to be written out.
        var header = EncodeHeader(snapshot);
        var crc = Crc32C.Append(Crc32C.Compute(header), snapshot.Data.Span);
        var trailer = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(trailer, crc);
        DurableFiles.WriteAtomically(path, file =>
        {
            file.Write(header);
            // Written and flushed a slice at a time: one fsync of tens of MB occupies the disk for
            // hundreds of ms, and every WAL fsync of every write issued meanwhile waits behind it.
            var data = snapshot.Data;
            for (var at = 0; at < data.Length; at += FlushEveryBytes)
            {
                var started = Stopwatch.GetTimestamp();
                file.Write(data.Span.Slice(at, Math.Min(FlushEveryBytes, data.Length - at)));
                if (at + FlushEveryBytes < data.Length)
                {
                    DurableFiles.SyncData(file);
                    if (paced)
                    {
                        var took = Stopwatch.GetElapsedTime(started);
                        Thread.Sleep(took < MaxPausePerSlice ? took : MaxPausePerSlice);
                    }
                }
            }

            file.Write(trailer);
        });
        foreach (var old in List().Skip(1 + RetainedOlderSnapshots))
        {
            File.Delete(old);
        }

        return path;
    }

    /// <summary>Newest first, by index.</summary>
    public List<string> List()
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return [];
        }

        return System.IO.Directory.EnumerateFiles(Directory, "*.snap")
            .OrderByDescending(p => IndexOf(p)).ToList();
    }

    public StoredSnapshot? LoadNewest(List<string> notes)
    {
        foreach (var path in List())
        {
            if (TryDecode(File.ReadAllBytes(path), out var snapshot))
            {
                return snapshot;
            }

            notes.Add($"snapshot {path} is damaged (CRC or framing); falling back to an older one");
        }

        return null;
    }

    private static ulong IndexOf(string path)
    {
        var name = Path.GetFileNameWithoutExtension(path);
        var dash = name.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && ulong.TryParse(name.AsSpan(dash + 1), System.Globalization.NumberStyles.HexNumber,
            null, out var index) ? index : 0;
    }

    /// <summary>The file's bytes up to the data: magic, index, term, voters, learners, data length.</summary>
    private static byte[] EncodeHeader(StoredSnapshot s)
    {
        var bytes = new byte[_magic.Length + 16 + 4 + (8 * s.Voters.Count) + 4 + (8 * s.Learners.Count) + 8];
        var span = bytes.AsSpan();
        _magic.CopyTo(span);
        var at = _magic.Length;
        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], s.Index);
        BinaryPrimitives.WriteUInt64LittleEndian(span[(at + 8)..], s.Term);
        at += 16;
        at = WriteIds(span, at, s.Voters);
        at = WriteIds(span, at, s.Learners);
        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], (ulong)s.Data.Length);
        return bytes;
    }

    private static int WriteIds(Span<byte> span, int at, IReadOnlyList<ulong> ids)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(span[at..], (uint)ids.Count);
        at += 4;
        foreach (var id in ids)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(span[at..], id);
            at += 8;
        }

        return at;
    }

    public static bool TryDecode(ReadOnlySpan<byte> bytes, out StoredSnapshot snapshot)
    {
        snapshot = null!;
        if (bytes.Length < _magic.Length + 16 + 4 + 4 + 8 + 4 || !bytes[.._magic.Length].SequenceEqual(_magic))
        {
            return false;
        }

        var body = bytes[..^4];
        if (Crc32C.Compute(body) != BinaryPrimitives.ReadUInt32LittleEndian(bytes[^4..]))
        {
            return false;
        }

        var at = _magic.Length;
        var index = BinaryPrimitives.ReadUInt64LittleEndian(body[at..]);
        var term = BinaryPrimitives.ReadUInt64LittleEndian(body[(at + 8)..]);
        at += 16;
        if (!TryReadIds(body, ref at, out var voters) || !TryReadIds(body, ref at, out var learners) ||
            body.Length - at < 8)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt64LittleEndian(body[at..]);
        at += 8;
        if (length != (ulong)(body.Length - at))
        {
            return false;
        }

        snapshot = new StoredSnapshot(index, term, voters, learners, body[at..].ToArray());
        return true;
    }

    private static bool TryReadIds(ReadOnlySpan<byte> body, ref int at, out List<ulong> ids)
    {
        ids = [];
        if (body.Length - at < 4)
        {
            return false;
        }

        var count = BinaryPrimitives.ReadUInt32LittleEndian(body[at..]);
        at += 4;
        if (count > (uint)(body.Length - at) / 8)
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            ids.Add(BinaryPrimitives.ReadUInt64LittleEndian(body[at..]));
            at += 8;
        }

        return true;
    }
}
