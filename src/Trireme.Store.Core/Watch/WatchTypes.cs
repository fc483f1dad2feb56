namespace Trireme.Store.Core.Watch;

/// <summary>etcd's WatchCreateRequest, minus what belongs to the stream (watch_id, fragment).</summary>
public sealed class WatchCreateRequest
{
    /// <summary>Empty means the smallest key (a single 0 byte), as etcd's watch server reads it.</summary>
    public byte[] Key { get; init; } = [];

    /// <summary>Empty: just <see cref="Key"/>; a single 0 byte: every key ≥ Key; else [Key, RangeEnd).</summary>
    public byte[] RangeEnd { get; init; } = [];

    /// <summary>First revision to report; 0 = the next revision written from now on.</summary>
    public long StartRevision { get; init; }

    public bool PrevKv { get; init; }
    public bool NoPut { get; init; }
    public bool NoDelete { get; init; }

    /// <summary>Include this watcher in <see cref="WatchHub.NotifyProgress"/> (etcd's progress_notify).</summary>
    public bool ProgressNotify { get; init; }
}

/// <summary>
/// One message for one watcher: events (whole revisions, in revision order), a progress notification
/// (no events, <see cref="Revision"/> = the store revision the watcher is synced to), or the final
/// cancel (<see cref="Canceled"/>, with <see cref="CompactRevision"/> when history it needed was compacted).
/// </summary>
public sealed class WatchResponse
{
    public long WatcherId { get; init; }

    /// <summary>Header revision: the store revision for a synced, drained watcher, otherwise the last event's.</summary>
    public long Revision { get; init; }

    public IReadOnlyList<WatchEvent> Events { get; init; } = [];
    public bool IsProgressNotify { get; init; }
    public bool Canceled { get; init; }
    public long CompactRevision { get; init; }
    public string CancelReason { get; init; } = "";
}

/// <summary>A watcher's bookkeeping. NextRevision is the first revision not yet queued or skipped.</summary>
internal sealed class Watcher
{
    public Watcher(long id, WatchCreateRequest request)
    {
        Id = id;
        Key = request.Key.Length == 0 ? [0] : request.Key;
        RangeEnd = request.RangeEnd;
        PrevKv = request.PrevKv;
        NoPut = request.NoPut;
        NoDelete = request.NoDelete;
        ProgressNotify = request.ProgressNotify;
    }

    public long Id { get; }
    public byte[] Key { get; }
    public byte[] RangeEnd { get; }
    public bool PrevKv { get; }
    public bool NoPut { get; }
    public bool NoDelete { get; }
    public bool ProgressNotify { get; }
    public bool IsSingleKey => RangeEnd.Length == 0;

    public long NextRevision { get; set; }
    public bool Synced { get; set; }
    public Queue<WatchEvent> Pending { get; } = new();
    public bool ProgressPending { get; set; }

    /// <summary>Non-zero once the watcher must be cancelled because history it needs was compacted.</summary>
    public long CancelCompactRevision { get; set; }

    public bool HasOutput => Pending.Count > 0 || CancelCompactRevision != 0 || ProgressPending;

    public bool Matches(WatchEvent change) =>
        ByteKeys.InRange(Key, RangeEnd, change.Kv.Key) &&
        !(NoPut && change.Type == WatchEventType.Put) && !(NoDelete && change.Type == WatchEventType.Delete);

    /// <summary>The event as this watcher receives it: prev_kv only if asked for.</summary>
    public WatchEvent Shape(WatchEvent change) => PrevKv || change.PrevKv is null ? change : change with { PrevKv = null };
}
