// Proves the WAL's durability contract: what an append acknowledged comes back after reopening (also
// across segment rolls and releases); a torn tail at ANY byte offset of the last segment is truncated to
// the last whole record, whether the segment ends there (no preallocation) or zeros follow (preallocated:
// the pages never written) — and appends then continue right after it; damage in the middle refuses to
// start naming the file and offset; a crash at an arbitrary moment (a copy of the files taken while
// appends run) loses no acknowledged append; the record decoder survives seeded random and mutated
// input. Files live in per-test temp directories.
using System.Text;
using Trireme.Store.Wal;

namespace Trireme.Store.Tests;

public sealed class WalTests
{
    private static WalEntry E(ulong term, ulong index, string data = "") =>
        new(term, index, 0, Encoding.UTF8.GetBytes(data.Length == 0 ? $"v{index}" : data));

    private static WalEntry[] Range(ulong term, ulong from, ulong to) =>
        Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => E(term, (ulong)i)).ToArray();

    [Fact]
    public void Crc32C_matches_the_standard_check_value()
    {
        Assert.Equal(0xE3069283u, Crc32C.Compute("123456789"u8));
        Assert.Equal(Crc32C.Compute("123456789"u8), Crc32C.Append(Crc32C.Compute("1234"u8), "56789"u8));
    }

    [Fact]
    public void Record_type_values_are_frozen()
    {
        Assert.Equal(1, (byte)WalRecordType.HardState);
        Assert.Equal(2, (byte)WalRecordType.Entries);
        Assert.Equal(3, (byte)WalRecordType.SnapshotMarker);
        Assert.Equal(9, WalRecord.HeaderBytes);
    }

    [Fact]
    public async Task Round_trip_keeps_entries_hard_state_and_overwrites()
    {
        using var dir = new TempDir();
        await using (var wal = WriteAheadLog.Open(dir.Path, new WalOptions(), out var empty))
        {
            Assert.Empty(empty.Entries);
            await wal.AppendAsync(new WalHardState(1, 1, 0), Range(1, 1, 10));
            await wal.AppendAsync(new WalHardState(2, 2, 5), Range(2, 8, 12)); // overwrites 8..10
            await wal.AppendAsync(null, [E(2, 13, new string('x', 70_000))]);
        }

        using var wal2 = new DisposeSync(WriteAheadLog.Open(dir.Path, new WalOptions(), out var state));
        Assert.Equal(new WalHardState(2, 2, 5), state.HardState);
        Assert.Equal(Enumerable.Range(1, 13).Select(i => (ulong)i), state.Entries.Select(e => e.Index));
        Assert.Equal([1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2], state.Entries.Select(e => (int)e.Term));
        Assert.Equal(70_000, state.Entries[^1].Data.Length);
    }

    [Fact]
    public async Task Unsynced_append_is_written_in_order_without_an_fsync_of_its_own()
    {
        using var dir = new TempDir();
        await using (var wal = WriteAheadLog.Open(dir.Path, new WalOptions(), out _))
        {
            await wal.AppendAsync(new WalHardState(1, 1, 0), Range(1, 1, 3));
            Assert.Equal(1, wal.DataSyncs);
            // A commit index alone (what the host writes with sync: false) needs no fsync.
            await wal.AppendAsync(new WalHardState(1, 1, 3), [], sync: false);
            Assert.Equal(1, wal.DataSyncs);
            await wal.AppendAsync(null, Range(1, 4, 4));
            Assert.Equal(2, wal.DataSyncs);
        }

        using var reopened = new DisposeSync(WriteAheadLog.Open(dir.Path, new WalOptions(), out var state));
        Assert.Equal(new WalHardState(1, 1, 3), state.HardState);
        Assert.Equal([1UL, 2, 3, 4], state.Entries.Select(e => e.Index));
    }

    [Fact]
    public async Task Blocking_append_with_an_idle_writer_is_written_inline_and_recovered()
    {
        using var dir = new TempDir();
        await using (var wal = WriteAheadLog.Open(dir.Path, new WalOptions(), out _))
        {
            // Nothing queued: each blocking append is written and fsynced on this thread.
            wal.Append(new WalHardState(1, 1, 0), Range(1, 1, 2));
            wal.Append(new WalHardState(1, 1, 2), Range(1, 3, 4));
            Assert.Equal(2, wal.InlineWrites);
            Assert.Equal(2, wal.DataSyncs);
            await wal.SaveMarkerAsync(new WalSnapshotMarker(2, 1)); // queued writes still go through the writer
            wal.Append(null, Range(1, 5, 5));
        }

        using var reopened = new DisposeSync(WriteAheadLog.Open(dir.Path, new WalOptions(), out var state));
        Assert.Equal(new WalHardState(1, 1, 2), state.HardState);
        Assert.Equal([3UL, 4, 5], state.Entries.Select(e => e.Index));
    }

    [Fact]
    public async Task Concurrent_appends_are_group_committed_and_all_recovered()
    {
        using var dir = new TempDir();
        await using (var wal = WriteAheadLog.Open(dir.Path, new WalOptions(), out _))
        {
            // Distinct terms per writer and index = position; order among writers is whatever the queue
            // saw, so write HardStates only (entries would overwrite each other by index).
            var tasks = Enumerable.Range(1, 200).Select(i => wal.AppendAsync(new WalHardState((ulong)i, 1, 0), []));
            await Task.WhenAll(tasks);
            await wal.AppendAsync(new WalHardState(999, 1, 0), []);
        }

        using var reopened = new DisposeSync(WriteAheadLog.Open(dir.Path, new WalOptions(), out var state));
        Assert.Equal(999UL, state.HardState.Term);
    }

    [Fact]
    public async Task Segments_roll_and_release_after_a_snapshot_without_losing_state()
    {
        using var dir = new TempDir();
        var options = new WalOptions { SegmentBytes = 4096 };
        await using (var wal = WriteAheadLog.Open(dir.Path, options, out _))
        {
            for (ulong i = 1; i <= 200; i++)
            {
                await wal.AppendAsync(new WalHardState(3, 1, i - 1), [E(3, i, new string('a', 100))]);
            }

            Assert.True(wal.SegmentCount > 5);
            var before = wal.SegmentCount;
            await wal.SaveMarkerAsync(new WalSnapshotMarker(150, 3));
            await wal.ReleaseAsync(150);
            Assert.True(wal.SegmentCount < before);
        }

        using var reopened = new DisposeSync(WriteAheadLog.Open(dir.Path, options, out var state));
        Assert.Equal(new WalSnapshotMarker(150, 3), state.Marker);
        Assert.Equal(new WalHardState(3, 1, 199), state.HardState);
        Assert.Equal(Enumerable.Range(151, 50).Select(i => (ulong)i), state.Entries.Select(e => e.Index));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Torn_tail_at_every_byte_offset_truncates_to_the_last_whole_record(bool preallocated)
    {
        using var dir = new TempDir();
        var source = dir.Sub("source");
        var recordEnds = new List<long>();
        // Written without preallocation so the file's length marks each record's end; the bytes of the
        // records are the same either way.
        await using (var wal = WriteAheadLog.Open(source, new WalOptions { Preallocate = false }, out _))
        {
            for (ulong i = 1; i <= 6; i++)
            {
                await wal.AppendAsync(null, [E(1, i)]);
                recordEnds.Add(new FileInfo(WalRecovery.SegmentPath(source, 1)).Length);
            }
        }

        var full = File.ReadAllBytes(WalRecovery.SegmentPath(source, 1));
        var options = new WalOptions { Preallocate = preallocated, SegmentBytes = 64 * 1024 };
        for (var cut = 0; cut <= full.Length; cut++)
        {
            var copy = dir.Sub($"cut{cut}");
            Directory.CreateDirectory(copy);
            var path = WalRecovery.SegmentPath(copy, 1);
            // Preallocated: what the crash did not write reads as zeros up to the segment's full size.
            File.WriteAllBytes(path, preallocated ? [.. full[..cut], .. new byte[options.SegmentBytes - cut]] : full[..cut]);
            var whole = recordEnds.Count(end => end <= cut);
            // cut < 8 leaves a prefix of the segment magic: the segment is rewritten empty.
            await using (var wal = WriteAheadLog.Open(copy, options, out var state))
            {
                Assert.Equal(whole, state.Entries.Count);
                if (!preallocated)
                {
                    var expectedLength = Math.Max(8, recordEnds.Where(end => end <= cut).DefaultIfEmpty(8).Max());
                    Assert.Equal(expectedLength, new FileInfo(path).Length);
                }

                // The next append goes right after the last whole record, nowhere else.
                await wal.AppendAsync(null, [E(1, (ulong)whole + 1)]);
            }

            using (new DisposeSync(WriteAheadLog.Open(copy, options, out var after)))
            {
                Assert.Equal(Enumerable.Range(1, whole + 1).Select(i => (ulong)i), after.Entries.Select(e => e.Index));
            }

            Directory.Delete(copy, true);
        }
    }

    [Fact]
    public async Task A_preallocated_segment_has_its_full_size_from_the_start_and_keeps_appending_after_reopen()
    {
        using var dir = new TempDir();
        var options = new WalOptions { SegmentBytes = 64 * 1024 };
        await using (var wal = WriteAheadLog.Open(dir.Path, options, out _))
        {
            Assert.Equal(options.SegmentBytes, new FileInfo(WalRecovery.SegmentPath(dir.Path, 1)).Length);
            await wal.AppendAsync(new WalHardState(1, 1, 0), Range(1, 1, 3));
        }

        await using (var wal = WriteAheadLog.Open(dir.Path, options, out var state))
        {
            Assert.Equal([1UL, 2, 3], state.Entries.Select(e => e.Index));
            await wal.AppendAsync(new WalHardState(1, 1, 3), Range(1, 4, 5));
        }

        using var reopened = new DisposeSync(WriteAheadLog.Open(dir.Path, options, out var final));
        Assert.Equal(new WalHardState(1, 1, 3), final.HardState);
        Assert.Equal([1UL, 2, 3, 4, 5], final.Entries.Select(e => e.Index));
        Assert.Equal(options.SegmentBytes, new FileInfo(WalRecovery.SegmentPath(dir.Path, 1)).Length);
    }

    [Fact]
    public async Task Data_after_a_gap_of_zeros_in_the_last_segment_refuses_to_start()
    {
        // Zeros then more data is not a tail this WAL can have written (each append follows the last),
        // so it is damage, not a torn write: refuse rather than drop what follows.
        using var dir = new TempDir();
        var options = new WalOptions { SegmentBytes = 64 * 1024 };
        await using (var wal = WriteAheadLog.Open(dir.Path, options, out _))
        {
            await wal.AppendAsync(null, Range(1, 1, 3));
        }

        var path = WalRecovery.SegmentPath(dir.Path, 1);
        var bytes = File.ReadAllBytes(path);
        var dataEnd = bytes.AsSpan().LastIndexOfAnyExcept((byte)0) + 1;
        bytes[dataEnd + 100] = 0x7F;
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(dir.Path, options, out _));
        Assert.Equal(path, error.FilePath);
        Assert.Equal(dataEnd, error.Offset);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Bad_crc_in_the_last_record_is_a_torn_tail(bool preallocated)
    {
        using var dir = new TempDir();
        var options = new WalOptions { Preallocate = preallocated, SegmentBytes = 64 * 1024 };
        await using (var wal = WriteAheadLog.Open(dir.Path, options, out _))
        {
            await wal.AppendAsync(null, Range(1, 1, 3));
            await wal.AppendAsync(null, Range(1, 4, 6));
        }

        var path = WalRecovery.SegmentPath(dir.Path, 1);
        var bytes = File.ReadAllBytes(path);
        var lastDataByte = bytes.AsSpan().LastIndexOfAnyExcept((byte)0); // the file's last byte unless preallocated
        bytes[lastDataByte - 1] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        using var reopened = new DisposeSync(WriteAheadLog.Open(dir.Path, options, out var state));
        Assert.Equal([1UL, 2, 3], state.Entries.Select(e => e.Index));
        Assert.Contains(state.Notes, n => n.Contains("torn tail", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Corruption_in_the_middle_refuses_to_start_naming_file_and_offset()
    {
        using var dir = new TempDir();
        await using (var wal = WriteAheadLog.Open(dir.Path, new WalOptions(), out _))
        {
            await wal.AppendAsync(null, Range(1, 1, 3));
            await wal.AppendAsync(null, Range(1, 4, 6));
        }

        var path = WalRecovery.SegmentPath(dir.Path, 1);
        var bytes = File.ReadAllBytes(path);
        bytes[8 + WalRecord.HeaderBytes + 10] ^= 0x01; // a payload byte of the first record
        File.WriteAllBytes(path, bytes);
        var error = Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(dir.Path, new WalOptions(), out _));
        Assert.Equal(path, error.FilePath);
        Assert.Equal(8, error.Offset);
        Assert.Contains($"{path} at byte offset 8", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Damage_in_an_older_segment_refuses_even_at_its_end(bool preallocated)
    {
        using var dir = new TempDir();
        var options = new WalOptions { SegmentBytes = 1024, Preallocate = preallocated };
        await using (var wal = WriteAheadLog.Open(dir.Path, options, out _))
        {
            for (ulong i = 1; i <= 40; i++)
            {
                await wal.AppendAsync(null, [E(1, i, new string('b', 60))]);
            }
        }

        var first = WalRecovery.SegmentPath(dir.Path, 1);
        if (preallocated)
        {
            // The last record of the older segment loses its end, as the tail of the last one could.
            var bytes = File.ReadAllBytes(first);
            var dataEnd = bytes.AsSpan().LastIndexOfAnyExcept((byte)0) + 1;
            bytes.AsSpan(dataEnd - 3, 3).Clear();
            File.WriteAllBytes(first, bytes);
        }
        else
        {
            var length = new FileInfo(first).Length;
            using var file = new FileStream(first, FileMode.Open);
            file.SetLength(length - 3);
        }

        var error = Assert.Throws<WalCorruptException>(() => WriteAheadLog.Open(dir.Path, options, out _));
        Assert.Equal(first, error.FilePath);
    }

    [Fact]
    public async Task A_crash_at_any_moment_loses_no_acknowledged_append()
    {
        using var dir = new TempDir();
        var live = dir.Sub("live");
        var options = new WalOptions { SegmentBytes = 16 * 1024 };
        await using var wal = WriteAheadLog.Open(live, options, out _);
        var acknowledged = 0L;
        var writer = Task.Run(async () =>
        {
            for (ulong i = 1; i <= 400; i++)
            {
                await wal.AppendAsync(new WalHardState(1, 1, i), [E(1, i, new string('c', 200))]);
                Interlocked.Exchange(ref acknowledged, (long)i);
            }
        }, TestContext.Current.CancellationToken);

        for (var crash = 0; crash < 8 && !writer.IsCompleted; crash++)
        {
            // "Crash": freeze what is on disk now. Anything acknowledged before the copy started must be
            // in the copy; the copy may also hold a torn tail of an append still in flight.
            var ackedBefore = (ulong)Interlocked.Read(ref acknowledged);
            var copy = dir.Sub($"crash{crash}");
            Directory.CreateDirectory(copy);
            foreach (var file in Directory.GetFiles(live))
            {
                using var source = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var target = File.Create(Path.Combine(copy, Path.GetFileName(file)));
                source.CopyTo(target);
            }

            using var reopened = new DisposeSync(WriteAheadLog.Open(copy, options, out var state));
            Assert.True(state.Entries.Count >= (int)ackedBefore, $"lost acknowledged entries: {state.Entries.Count} < {ackedBefore}");
            Assert.Equal(Enumerable.Range(1, state.Entries.Count).Select(i => (ulong)i), state.Entries.Select(e => e.Index));
            await Task.Delay(5, TestContext.Current.CancellationToken);
        }

        await writer;
    }

    [Fact]
    public void Seeded_fuzz_of_the_record_decoder_never_throws()
    {
        var random = new Random(20261122);
        var valid = new byte[4096];
        var at = 0;
        var entries = Range(1, 1, 5);
        at += WalRecord.Encode(WalRecordType.Entries, WalRecord.EncodeEntries(entries, 0, 5), valid);
        at += WalRecord.Encode(WalRecordType.HardState, WalRecord.EncodeHardState(new(1, 2, 3)), valid.AsSpan(at));
        var stream = valid[..at];
        var sink = new List<WalEntry>();
        for (var iteration = 0; iteration < 20_000; iteration++)
        {
            byte[] input;
            if (iteration % 2 == 0)
            {
                input = new byte[random.Next(0, 200)];
                random.NextBytes(input);
            }
            else
            {
                input = (byte[])stream.Clone();
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    input[random.Next(input.Length)] = (byte)random.Next(256);
                }

                input = input[..random.Next(input.Length + 1)];
            }

            var offset = 0;
            while (offset < input.Length)
            {
                var status = WalRecord.TryDecode(input.AsSpan(offset), out var type, out var payload, out var size);
                if (status != WalDecodeStatus.Ok)
                {
                    break;
                }

                _ = WalRecord.TryDecodeEntries(payload, sink);
                _ = WalRecord.TryDecodeHardState(payload, out _);
                _ = WalRecord.TryDecodeMarker(payload, out _);
                Assert.True(size >= WalRecord.HeaderBytes);
                offset += (int)size;
                sink.Clear();
                _ = type;
            }

            // Payload decoders also take arbitrary bytes directly.
            _ = WalRecord.TryDecodeEntries(input, sink);
            sink.Clear();
        }
    }

    [Fact]
    public void Snapshot_files_round_trip_and_a_damaged_newest_falls_back()
    {
        using var dir = new TempDir();
        var files = new SnapshotFiles(dir.Sub("snap"));
        files.Save(new StoredSnapshot(10, 2, [1, 2, 3], [4], "ten"u8.ToArray()));
        var newest = files.Save(new StoredSnapshot(20, 3, [1, 2, 3], [], "twenty"u8.ToArray()));
        var notes = new List<string>();
        var loaded = files.LoadNewest(notes)!;
        Assert.Equal((20UL, 3UL), (loaded.Index, loaded.Term));
        Assert.Equal("twenty"u8.ToArray(), loaded.Data.ToArray());

        var bytes = File.ReadAllBytes(newest);
        bytes[20] ^= 0xFF;
        File.WriteAllBytes(newest, bytes);
        loaded = files.LoadNewest(notes)!;
        Assert.Equal(10UL, loaded.Index);
        Assert.Equal([4UL], loaded.Learners);
        Assert.Single(notes);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, false)]
    [InlineData(SnapshotFiles.FlushEveryBytes, false)]
    [InlineData((2 * SnapshotFiles.FlushEveryBytes) + 12_345, false)]
    [InlineData(1, true)]
    [InlineData((2 * SnapshotFiles.FlushEveryBytes) + 12_345, true)]
    public void Snapshot_files_written_in_flushed_slices_load_back_byte_for_byte(int size, bool paced)
    {
        // A large snapshot is written and flushed a slice at a time: whole, partial and empty slices,
        // with and without the pauses a member's background snapshot makes between slices.
        using var dir = new TempDir();
        var files = new SnapshotFiles(dir.Sub("snap"));
        var data = new byte[size];
        new Random(size).NextBytes(data);
        var path = files.Save(new StoredSnapshot(7, 1, [1, 2, 3], [], data), paced);
        var loaded = files.LoadNewest([])!;
        Assert.Equal(7UL, loaded.Index);
        Assert.True(data.AsSpan().SequenceEqual(loaded.Data.Span), "snapshot data differs after the round trip");
        Assert.Equal(new FileInfo(path).Length, SnapshotFileOverhead(3) + size);
    }

    /// <summary>Magic, index, term, voter count and ids, learner count, data length, CRC.</summary>
    private static long SnapshotFileOverhead(int voters) => 8 + 16 + 4 + (8 * voters) + 4 + 8 + 4;
}

/// <summary>Disposes an async-disposable synchronously inside a using block.</summary>
internal readonly struct DisposeSync(IAsyncDisposable inner) : IDisposable
{
    public void Dispose() => inner.DisposeAsync().AsTask().GetAwaiter().GetResult();
}
