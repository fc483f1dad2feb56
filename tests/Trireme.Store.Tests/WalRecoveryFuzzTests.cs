// Proves the WAL's recovery never crashes on damaged files and always answers with its typed rejection:
// a seeded fuzz target copies a real multi-segment WAL (written by WriteAheadLog itself), damages it —
// random bytes, truncation, appended garbage, duplicated, dropped or zeroed spans, and records with a VALID CRC
// around random or hostile payloads (unknown types, wrong sizes, entry indexes that jump, go back, or sit
// at 0 and ulong.MaxValue), which is what reaches the payload decoders and the overwrite rule — and
// opens it. The only acceptable outcomes: it opens, holding a contiguous log above its snapshot marker
// and reopening gives the same state (a torn tail truncated once stays truncated); or it refuses with
// WalCorruptException naming one of the segment files and an offset inside it. Anything else is a
// finding; each finding (and each hand-picked hostile layout) is kept in Regression_layouts below.
// Iterations: TRIREME_FUZZ_ITERATIONS (default 300 per seed; each one opens a WAL on disk).
using System.Globalization;
using Trireme.Store.Wal;

namespace Trireme.Store.Tests;

public sealed class WalRecoveryFuzzTests
{
    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("TRIREME_FUZZ_ITERATIONS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n
            : 300;

    private static readonly byte[] _magic = "TRIWAL01"u8.ToArray();

    /// <summary>A genuine WAL: several segments (small segment size), overwritten suffixes, hard states
    /// and a snapshot marker, written through the public API.</summary>
    private static async Task<List<(string Name, byte[] Bytes)>> GenuineWalAsync()
    {
        using var dir = new TempDir();
        await using (var wal = WriteAheadLog.Open(dir.Path, new WalOptions { SegmentBytes = 600 }, out _))
        {
            for (ulong i = 1; i <= 24; i += 3)
            {
                await wal.AppendAsync(new WalHardState(1 + (i / 10), 1, i), [E(1 + (i / 10), i), E(1 + (i / 10), i + 1), E(1 + (i / 10), i + 2)]);
            }

            await wal.AppendAsync(new WalHardState(4, 2, 20), [E(4, 20), E(4, 21)]); // Raft overwrite of 20..26
            await wal.SaveMarkerAsync(new WalSnapshotMarker(10, 1));
            await wal.AppendAsync(new WalHardState(4, 2, 21), [E(4, 22)]);
        }

        return Directory.GetFiles(dir.Path, "*.wal").Order(StringComparer.Ordinal)
            .Select(p => (Path.GetFileName(p), File.ReadAllBytes(p))).ToList();
    }

    private static WalEntry E(ulong term, ulong index) =>
        new(term, index, 0, System.Text.Encoding.UTF8.GetBytes($"entry {index} term {term}"));

    private static byte[] Record(WalRecordType type, byte[] payload)
    {
        var bytes = new byte[WalRecord.EncodedSize(payload.Length)];
        WalRecord.Encode(type, payload, bytes);
        return bytes;
    }

    [Theory]
    [InlineData(20261122)]
    [InlineData(7)]
    public async Task Recovery_of_damaged_files_opens_or_refuses_with_the_typed_error(int seed)
    {
        var genuine = await GenuineWalAsync();
        Assert.True(genuine.Count >= 3, $"want several segments, got {genuine.Count}");
        var random = new Random(seed);
        var (opened, refused) = (0, 0);
        for (var iteration = 0; iteration < Iterations; iteration++)
        {
            var files = genuine.Select(f => (f.Name, Bytes: (byte[])f.Bytes.Clone())).ToList();
            for (var damage = random.Next(1, 4); damage > 0; damage--)
            {
                Damage(files, random);
            }

            var finding = OpenAndCheck(files, out var wasRefused);
            Assert.True(finding is null, $"seed {seed} iteration {iteration}: {finding}\nlayout: {Describe(files)}");
            (opened, refused) = wasRefused ? (opened, refused + 1) : (opened + 1, refused);
        }

        // Both outcomes must be reached, or the damage is too mild (or too wild) to test anything.
        Assert.True(opened > 0 && refused > 0, $"opened {opened}, refused {refused}");
    }

    /// <summary>Hostile layouts, each named; fuzz findings are added here as regression cases.</summary>
    public static TheoryData<string> Regression_layouts =>
    [
        "empty-last-segment", "magic-only", "bad-magic-first", "unknown-type-valid-crc", "short-hardstate-valid-crc",
        "entries-count-too-large", "entry-index-zero", "entry-index-max", "entries-going-back-below-first",
        "entries-jumping-forward", "marker-beyond-log", "huge-length-in-middle", "huge-length-at-tail",
    ];

    [Theory]
    [MemberData(nameof(Regression_layouts))]
    public void Regression_layouts_open_or_refuse_with_the_typed_error(string layout)
    {
        var good = Record(WalRecordType.Entries, WalRecord.EncodeEntries([E(1, 1), E(1, 2)], 0, 2));
        var hard = Record(WalRecordType.HardState, WalRecord.EncodeHardState(new(1, 1, 2)));
        byte[] Seg(params byte[][] records) => [.. _magic, .. records.SelectMany(r => r)];
        byte[] Entries(params (ulong Term, ulong Index)[] entries) =>
            Record(WalRecordType.Entries, WalRecord.EncodeEntries(entries.Select(e => E(e.Term, e.Index)).ToList(), 0, entries.Length));
        var hugeLength = (byte[])good.Clone();
        BitConverter.TryWriteBytes(hugeLength.AsSpan(0, 4), uint.MaxValue);
        List<(string Name, byte[] Bytes)> files = layout switch
        {
            "empty-last-segment" => [("0000000000000001.wal", Seg(good, hard)), ("0000000000000002.wal", Array.Empty<byte>())],
            "magic-only" => [("0000000000000001.wal", Seg())],
            "bad-magic-first" => [("0000000000000001.wal", "TRIWAL02"u8.ToArray()), ("0000000000000002.wal", Seg(good))],
            "unknown-type-valid-crc" => [("0000000000000001.wal", Seg(good, Record((WalRecordType)9, [1, 2, 3]), hard))],
            "short-hardstate-valid-crc" => [("0000000000000001.wal", Seg(Record(WalRecordType.HardState, new byte[23]), good))],
            "entries-count-too-large" => [("0000000000000001.wal", Seg(Record(WalRecordType.Entries, [0xFF, 0xFF, 0xFF, 0xFF]), hard))],
            "entry-index-zero" => [("0000000000000001.wal", Seg(Entries((1, 0)), hard))],
            "entry-index-max" => [("0000000000000001.wal", Seg(good, Entries((1, ulong.MaxValue)), hard))],
            "entries-going-back-below-first" => [("0000000000000001.wal", Seg(Entries((1, 5), (1, 6)), Entries((2, 2)), hard))],
            "entries-jumping-forward" => [("0000000000000001.wal", Seg(good, Entries((3, 1_000_000)), hard))],
            "marker-beyond-log" => [("0000000000000001.wal", Seg(good, Record(WalRecordType.SnapshotMarker,
                WalRecord.EncodeMarker(new(ulong.MaxValue, 1))), hard))],
            "huge-length-in-middle" => [("0000000000000001.wal", Seg(good, hugeLength, hard))],
            "huge-length-at-tail" => [("0000000000000001.wal", Seg(good, hugeLength))],
            _ => throw new ArgumentException(layout),
        };
        var finding = OpenAndCheck(files, out _);
        Assert.True(finding is null, $"{layout}: {finding}");
    }

    private static void Damage(List<(string Name, byte[] Bytes)> files, Random random)
    {
        var which = random.Next(files.Count);
        var bytes = files[which].Bytes;
        var at = bytes.Length == 0 ? 0 : random.Next(bytes.Length);
        bytes = random.Next(9) switch
        {
            7 => Zero(bytes, at, random.Next(1, 600)), // a zeroed span (pages a crash never wrote)
            0 => Flip(bytes, random),
            1 => bytes[..at], // truncate
            2 => [.. bytes, .. RandomBytes(random, random.Next(1, 64))], // trailing garbage
            3 => [.. bytes[..at], .. bytes[random.Next(at, bytes.Length + 1)..]], // drop a span
            4 => [.. bytes[..at], .. bytes[at..Math.Min(bytes.Length, at + random.Next(1, 80))], .. bytes[at..]], // duplicate a span
            5 => [.. bytes, .. HostileRecord(random)], // valid CRC appended at the end
            6 => [.. bytes[..at], .. HostileRecord(random), .. bytes[at..]], // valid CRC inserted anywhere
            _ => [.. bytes[..at], .. RandomBytes(random, random.Next(1, 32)), .. bytes[at..]],
        };
        files[which] = (files[which].Name, bytes);
        if (random.Next(20) == 0)
        {
            files.RemoveAt(random.Next(files.Count)); // a lost segment file
        }
    }

    private static byte[] Zero(byte[] bytes, int at, int count)
    {
        bytes.AsSpan(at, Math.Min(count, bytes.Length - at)).Clear();
        return bytes;
    }

    private static byte[] Flip(byte[] bytes, Random random)
    {
        for (var flips = random.Next(1, 4); flips > 0 && bytes.Length > 0; flips--)
        {
            bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
        }

        return bytes;
    }

    private static byte[] RandomBytes(Random random, int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }

    /// <summary>A record that passes the CRC check, so the payload decoders and the overwrite rule see it.</summary>
    private static byte[] HostileRecord(Random random)
    {
        static ulong Index(Random r) => r.Next(6) switch
        {
            0 => 0,
            1 => ulong.MaxValue,
            2 => (ulong)r.NextInt64(),
            _ => (ulong)r.Next(1, 40),
        };

        return random.Next(5) switch
        {
            0 => Record((WalRecordType)random.Next(256), RandomBytes(random, random.Next(0, 40))),
            1 => Record(WalRecordType.HardState, RandomBytes(random, random.Next(2) == 0 ? 24 : random.Next(0, 40))),
            2 => Record(WalRecordType.SnapshotMarker, WalRecord.EncodeMarker(new(Index(random), (ulong)random.Next(5)))),
            3 => Record(WalRecordType.Entries, RandomBytes(random, random.Next(0, 80))),
            _ => Entries(Enumerable.Range(0, random.Next(1, 5)).Select(_ => E((ulong)random.Next(5), Index(random))).ToList()),
        };

        static byte[] Entries(List<WalEntry> entries) =>
            Record(WalRecordType.Entries, WalRecord.EncodeEntries(entries, 0, entries.Count));
    }

    /// <summary>Writes the files, opens the WAL twice; returns null when the outcome is allowed, else what went wrong.</summary>
    private static string? OpenAndCheck(List<(string Name, byte[] Bytes)> files, out bool refused)
    {
        refused = false;
        using var dir = new TempDir();
        foreach (var (name, bytes) in files)
        {
            File.WriteAllBytes(Path.Combine(dir.Path, name), bytes);
        }

        WalRecoveredState first;
        try
        {
            first = OpenOnce(dir.Path);
        }
        catch (WalCorruptException e)
        {
            refused = true;
            var file = files.FirstOrDefault(f => Path.Combine(dir.Path, f.Name) == e.FilePath);
            if (file.Name is null)
            {
                return $"refusal names a file that is not a segment: {e.FilePath}";
            }

            return e.Offset >= 0 && e.Offset <= file.Bytes.Length && e.Message.Contains(e.FilePath, StringComparison.Ordinal)
                ? null
                : $"refusal offset {e.Offset} outside {file.Name} ({file.Bytes.Length} bytes): {e.Message}";
        }
#pragma warning disable CA1031 // Any other exception IS the finding this fuzz target looks for.
        catch (Exception e)
#pragma warning restore CA1031
        {
            return $"untyped failure: {e}";
        }

        for (var i = 1; i < first.Entries.Count; i++)
        {
            if (first.Entries[i].Index != first.Entries[i - 1].Index + 1)
            {
                return $"recovered log is not contiguous at {first.Entries[i - 1].Index} -> {first.Entries[i].Index}";
            }
        }

        if (first.Entries.Count > 0 && first.Entries[0].Index <= first.Marker.Index)
        {
            return $"recovered entry {first.Entries[0].Index} is covered by the marker at {first.Marker.Index}";
        }

        try
        {
            var second = OpenOnce(dir.Path);
            if (second.HardState != first.HardState || second.Marker != first.Marker ||
                !second.Entries.Select(e => (e.Term, e.Index)).SequenceEqual(first.Entries.Select(e => (e.Term, e.Index))))
            {
                return "reopening recovered a different state";
            }
        }
#pragma warning disable CA1031
        catch (Exception e)
#pragma warning restore CA1031
        {
            return $"a WAL that opened once fails to reopen: {e}";
        }

        return null;
    }

    private static WalRecoveredState OpenOnce(string directory)
    {
        var wal = WriteAheadLog.Open(directory, new WalOptions(), out var recovered);
        wal.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return recovered;
    }

    private static string Describe(List<(string Name, byte[] Bytes)> files) =>
        string.Join("; ", files.Select(f => $"{f.Name}={Convert.ToHexString(f.Bytes)}"));
}
