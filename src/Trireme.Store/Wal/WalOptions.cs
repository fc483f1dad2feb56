namespace Trireme.Store.Wal;

public sealed record WalOptions
{
    /// <summary>A segment is closed and a new one started once it would grow past this. Segments are
    /// not preallocated: the file's length is exactly the records written, so a torn tail is simply a
    /// short last record and recovery never has to tell zero padding from data.</summary>
    public long SegmentBytes { get; init; } = 64L * 1024 * 1024;

    /// <summary>Queued appends waiting for the writer; appenders wait (backpressure) beyond this.</summary>
    public int MaxQueuedWrites { get; init; } = 4096;

    /// <summary>Upper bound of bytes one group commit writes before its fsync, so waiters are not
    /// held behind an unbounded batch.</summary>
    public long MaxBatchBytes { get; init; } = 16L * 1024 * 1024;
}
