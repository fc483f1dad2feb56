using System.Buffers;
using System.Threading.Channels;

namespace Trireme.Store.Wal;

/// <summary>
/// The Raft write-ahead log. Appends are queued; ONE writer thread drains whatever is queued, writes it
/// and issues ONE fsync for the whole batch, then completes every waiter (group commit). A caller's task
/// completing means its records are on stable storage. A failed fsync crashes the process.
/// An append that finds the writer idle and nothing queued is written on the caller's thread instead
/// (<see cref="TryWriteInline"/>). Thread-safety: any thread may append; the file and segment
/// bookkeeping are guarded by one lock held by whoever writes.
/// </summary>
public sealed class WriteAheadLog : IAsyncDisposable
{
    private sealed class Write
    {
        /// <summary>The framed records; only the first <see cref="Length"/> bytes count. Rented from the
        /// shared pool when <see cref="Rented"/>, and given back as soon as they are in the file.</summary>
        public required byte[] Bytes { get; set; }
        public required int Length { get; init; }
        public bool Rented { get; init; }
        public WalHardState? HardState { get; init; }
        public WalSnapshotMarker? Marker { get; init; }
        public ulong MaxEntryIndex { get; init; }
        public ulong ReleaseUpToIndex { get; init; }

        /// <summary>False for a write that may stay in the page cache until the next fsync (a commit index
        /// alone: it can be relearned from peers after a crash, so it is not worth an fsync of its own).</summary>
        public bool Sync { get; init; } = true;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Set when done, for a caller blocked in <see cref="Append"/> or <see cref="SaveMarker"/>.</summary>
        public ManualResetEventSlim? Waiter { get; init; }
    }

    /// <summary>One blocking waiter per calling thread (the host loop), reused: spin count 0 so a thread
    /// waiting for an fsync sleeps at once instead of spinning (Task.Wait spins on sched_yield first).</summary>
    [ThreadStatic]
    private static ManualResetEventSlim? t_waiter;

    /// <summary>Wakes the writer thread when a write is queued (spin count 0, same reason).</summary>
    private readonly ManualResetEventSlim _queued = new(false, spinCount: 0);

    private readonly string _directory;
    private readonly WalOptions _options;
    private readonly Channel<Write> _queue;
    private readonly Thread _writer;
    private readonly List<WalRecovery.SegmentInfo> _segments;
    private FileStream _current;

    /// <summary>Where the next record goes in <see cref="_current"/> (its length, unless preallocated).</summary>
    private long _writeOffset;

    private WalHardState _lastHardState;
    private WalSnapshotMarker _lastMarker;

    private WriteAheadLog(string directory, WalOptions options, List<WalRecovery.SegmentInfo> segments,
        WalRecoveredState recovered)
    {
        _directory = directory;
        _options = options;
        _segments = segments;
        _lastHardState = recovered.HardState;
        _lastMarker = recovered.Marker;
        _queue = Channel.CreateBounded<Write>(new BoundedChannelOptions(options.MaxQueuedWrites)
        {
            SingleReader = true,
        });
        if (_segments.Count == 0)
        {
            _current = CreateSegment(1);
        }
        else
        {
            _current = new FileStream(_segments[^1].Path, FileMode.Open, FileAccess.Write, FileShare.Read, 0);
            _writeOffset = _segments[^1].DataEnd;
            _current.Position = _writeOffset;
            if (_options.Preallocate && DurableFiles.TryAllocate(_current, _options.SegmentBytes))
            {
                // Truncated by recovery, or written before preallocation: allocated again from here on.
                DurableFiles.SyncFile(_current);
            }
        }

        _writer = new Thread(WriterLoop) { IsBackground = true, Name = "wal-writer" };
        _writer.Start();
    }

    /// <summary>Opens (creating if needed) the WAL in <paramref name="directory"/> and recovers it.
    /// Throws <see cref="WalCorruptException"/> when the log is damaged other than at its tail.</summary>
    public static WriteAheadLog Open(string directory, WalOptions options, out WalRecoveredState recovered)
    {
        Directory.CreateDirectory(directory);
        var (state, segments) = WalRecovery.Recover(directory);
        recovered = state;
        return new WriteAheadLog(directory, options, segments, state);
    }

    public int SegmentCount => _segments.Count;

    /// <summary>fsyncs of segment data issued so far (one per group commit that needed one).</summary>
    public long DataSyncs => Interlocked.Read(ref _dataSyncs);

    private long _dataSyncs;

    /// <summary>Writes done on the caller's thread because the writer was idle (see <see cref="TryWriteInline"/>).</summary>
    public long InlineWrites => Interlocked.Read(ref _inlineWrites);

    private long _inlineWrites;

    /// <summary>Held by whoever writes the file: the writer thread while it drains a batch, or a caller
    /// writing inline. Segment bookkeeping is guarded by it.</summary>
    private readonly Lock _fileLock = new();

    /// <summary>Reused one-element batch for inline writes (only touched under <see cref="_fileLock"/>).</summary>
    private readonly List<Write> _inlineBatch = new(1);

    /// <summary>Appends a HardState and/or entries and blocks the calling thread until they are durable
    /// (writing and fsyncing on the calling thread itself when the writer is idle).</summary>
    public void Append(WalHardState? hardState, IReadOnlyList<WalEntry> entries) =>
        EnqueueAndWait(hardState, entries, null);

    /// <summary>Records that a snapshot file at <paramref name="marker"/> is durable; blocks until it is.</summary>
    public void SaveMarker(WalSnapshotMarker marker) => EnqueueAndWait(null, [], marker);

    private void EnqueueAndWait(WalHardState? hardState, IReadOnlyList<WalEntry> entries, WalSnapshotMarker? marker)
    {
        var waiter = t_waiter ??= new ManualResetEventSlim(false, spinCount: 0);
        waiter.Reset();
        var write = marker is { } m ? MarkerWrite(m, waiter) : EntriesWrite(hardState, entries, sync: true, waiter);
        if (TryWriteInline(write))
        {
            return;
        }

        // The writer never fails a write (a failed fsync ends the process), so the task carries nothing
        // the waiter does not: the writer sets the waiter when the write is durable.
        _ = Enqueue(write);
        waiter.Wait();
    }

    /// <summary>Appends a HardState and/or entries; completes once they are durable. With
    /// <paramref name="sync"/> false the records are written in order but no fsync is issued for them
    /// (a later synced write, or none, makes them durable): the task then completes once written.</summary>
    public Task AppendAsync(WalHardState? hardState, IReadOnlyList<WalEntry> entries, bool sync = true)
    {
        // Only an unsynced write (a write syscall, no fsync) is done inline here: an async caller must
        // not be blocked on an fsync.
        var write = EntriesWrite(hardState, entries, sync, null);
        return !sync && TryWriteInline(write) ? Task.CompletedTask : Enqueue(write);
    }

    /// <summary>
    /// Writes (and fsyncs, if asked) on the calling thread when the writer thread is idle and nothing is
    /// queued: a lone Raft Ready then costs no hand-off to the writer and back (two thread wake-ups,
    /// a large share of a 1-client put's latency on a loaded machine). Queue order is kept: the file
    /// lock is held by whoever drains the queue, and an inline write happens only with the lock held and
    /// the queue empty, so everything enqueued before it is already written. Under load the queue is
    /// rarely empty and writes go through the writer as a group commit, as before.
    /// </summary>
    private bool TryWriteInline(Write write)
    {
        if (!_fileLock.TryEnter())
        {
            return false;
        }

        try
        {
            if (_queue.Reader.TryPeek(out _) || _queue.Reader.Completion.IsCompleted)
            {
                return false;
            }

            _inlineBatch.Add(write);
            WriteBatch(_inlineBatch);
            _inlineBatch.Clear();
        }
        finally
        {
            _fileLock.Exit();
        }

        Interlocked.Increment(ref _inlineWrites);
        write.Done.TrySetResult();
        return true;
    }

    private static Write EntriesWrite(WalHardState? hardState, IReadOnlyList<WalEntry> entries, bool sync, ManualResetEventSlim? waiter)
    {
        // Entries and HardState are encoded straight into one rented frame: a put then costs no
        // per-batch payload array and no second copy into the frame.
        var length = WalRecord.EntryRecordsSize(entries) + (hardState is null ? 0 : WalRecord.HeaderBytes + WalRecord.HardStateBytes);
        var bytes = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        var at = WalRecord.WriteEntryRecords(entries, bytes);

        // HardState after the entries: its commit index may refer to them.
        if (hardState is { } hs)
        {
            at += WalRecord.Encode(WalRecordType.HardState, WalRecord.EncodeHardState(hs), bytes.AsSpan(at));
        }

        ulong max = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            max = Math.Max(max, entries[i].Index);
        }

        return new Write { Bytes = bytes, Length = at, Rented = true, HardState = hardState, MaxEntryIndex = max, Sync = sync, Waiter = waiter };
    }

    /// <summary>Records that a snapshot file at <paramref name="marker"/> is durable.</summary>
    public Task SaveMarkerAsync(WalSnapshotMarker marker) => Enqueue(MarkerWrite(marker, null));

    private static Write MarkerWrite(WalSnapshotMarker marker, ManualResetEventSlim? waiter)
    {
        var bytes = Frame([(WalRecordType.SnapshotMarker, WalRecord.EncodeMarker(marker))]);
        return new Write { Bytes = bytes, Length = bytes.Length, Marker = marker, Waiter = waiter };
    }

    /// <summary>Deletes closed segments whose entries are all at or below <paramref name="index"/> (covered
    /// by a durable snapshot). Every segment starts with the HardState and marker current at its creation,
    /// so dropping older segments loses neither.</summary>
    public Task ReleaseAsync(ulong index) => Enqueue(new Write { Bytes = [], Length = 0, ReleaseUpToIndex = index });

    private Task Enqueue(Write write)
    {
        if (!_queue.Writer.TryWrite(write))
        {
            return EnqueueSlow(write);
        }

        _queued.Set();
        return write.Done.Task;
    }

    private async Task EnqueueSlow(Write write)
    {
        await _queue.Writer.WriteAsync(write).ConfigureAwait(false);
        _queued.Set();
        await write.Done.Task.ConfigureAwait(false);
    }

    private static byte[] Frame(IReadOnlyList<(WalRecordType Type, byte[] Payload)> payloads)
    {
        var bytes = new byte[payloads.Sum(p => WalRecord.EncodedSize(p.Payload.Length))];
        var at = 0;
        foreach (var (type, payload) in payloads)
        {
            at += WalRecord.Encode(type, payload, bytes.AsSpan(at));
        }

        return bytes;
    }

    private void WriterLoop()
    {
        var batch = new List<Write>();
        var reader = _queue.Reader;
        while (WaitForWrites(reader))
        {
            lock (_fileLock)
            {
                long bytes = 0;
                while (bytes < _options.MaxBatchBytes && reader.TryRead(out var write))
                {
                    batch.Add(write);
                    bytes += write.Length;
                }

                WriteBatch(batch);
            }

            foreach (var write in batch)
            {
                write.Done.TrySetResult();
                write.Waiter?.Set();
            }

            batch.Clear();
        }

        lock (_fileLock)
        {
            _current.Dispose();
        }
    }

    /// <summary>Blocks (without spinning) until a write is queued; false once the queue is completed and empty.</summary>
    private bool WaitForWrites(ChannelReader<Write> reader)
    {
        while (!reader.TryPeek(out _))
        {
            _queued.Reset();
            if (reader.TryPeek(out _))
            {
                break; // queued between the check and the reset
            }

            if (reader.Completion.IsCompleted)
            {
                return false;
            }

            _queued.Wait();
        }

        return true;
    }

    private void WriteBatch(List<Write> batch)
    {
        var dirty = false;
        var mustSync = false;
        ulong release = 0;
        foreach (var write in batch)
        {
            if (write.Length > 0)
            {
                if (_writeOffset > WalRecovery.SegmentMagic.Length &&
                    _writeOffset + write.Length > _options.SegmentBytes)
                {
                    RollSegment();
                }

                _current.Write(write.Bytes, 0, write.Length);
                _writeOffset += write.Length;
                dirty = true;
                mustSync |= write.Sync;
                var segment = _segments[^1];
                segment.MaxEntryIndex = Math.Max(segment.MaxEntryIndex, write.MaxEntryIndex);
                _lastHardState = write.HardState ?? _lastHardState;
                _lastMarker = write.Marker ?? _lastMarker;
            }

            release = Math.Max(release, write.ReleaseUpToIndex);
            if (write.Rented)
            {
                // In the file (or the page cache) now; nothing reads the frame again.
                ArrayPool<byte>.Shared.Return(write.Bytes);
                write.Bytes = [];
            }
        }

        if (dirty && mustSync)
        {
            DurableFiles.SyncData(_current);
            Interlocked.Increment(ref _dataSyncs);
        }

        if (release > 0)
        {
            Release(release);
        }
    }

    private void RollSegment()
    {
        DurableFiles.SyncData(_current);
        _current.Dispose();
        _current = CreateSegment(_segments[^1].Sequence + 1);
        var head = new List<(WalRecordType, byte[])>
        {
            (WalRecordType.SnapshotMarker, WalRecord.EncodeMarker(_lastMarker)),
            (WalRecordType.HardState, WalRecord.EncodeHardState(_lastHardState)),
        };
        var headBytes = Frame(head);
        _current.Write(headBytes);
        _writeOffset += headBytes.Length;
    }

    private FileStream CreateSegment(long sequence)
    {
        var path = WalRecovery.SegmentPath(_directory, sequence);
        var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 0);
        file.Write(WalRecovery.SegmentMagic);
        _writeOffset = WalRecovery.SegmentMagic.Length;
        if (_options.Preallocate)
        {
            _ = DurableFiles.TryAllocate(file, _options.SegmentBytes);
        }

        // fsync, not fdatasync: the new size and allocation are metadata this sync must carry.
        DurableFiles.SyncFile(file);
        DurableFiles.SyncDirectory(_directory);
        _segments.Add(new WalRecovery.SegmentInfo(path, sequence));
        return file;
    }

    private void Release(ulong index)
    {
        var deleted = false;
        while (_segments.Count > 1 && _segments[0].MaxEntryIndex <= index)
        {
            File.Delete(_segments[0].Path);
            _segments.RemoveAt(0);
            deleted = true;
        }

        if (deleted)
        {
            DurableFiles.SyncDirectory(_directory);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        _queued.Set();
        await Task.Run(_writer.Join).ConfigureAwait(false);
        _queued.Dispose();
    }
}
