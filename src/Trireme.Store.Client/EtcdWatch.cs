using System.Threading.Channels;
using Trireme.Store.Api.Etcdserverpb;
using Trireme.Store.Api.Mvccpb;

namespace Trireme.Store.Client;

/// <summary>What a watch update carries.</summary>
public enum WatchUpdateKind
{
    /// <summary>One or more events, in revision order.</summary>
    Events = 1,

    /// <summary>A progress notification: no events up to <see cref="WatchUpdate.Revision"/>.</summary>
    Progress = 2,

    /// <summary>
    /// The watch asked (or had to resume) from a revision that is compacted: events were lost and the
    /// watch has ended. The consumer must re-list at <see cref="WatchUpdate.CompactRevision"/> or later
    /// (Kubernetes: 410 Gone).
    /// </summary>
    Compacted = 3,

    /// <summary>The server cancelled the watch (<see cref="WatchUpdate.CancelReason"/>); it has ended.</summary>
    Canceled = 4,
}

/// <summary>One delivery to a watcher; <see cref="Revision"/> is the store revision in the response header.</summary>
public sealed record WatchUpdate(WatchUpdateKind Kind, IReadOnlyList<Event> Events, long Revision, long CompactRevision, string CancelReason);

/// <summary>
/// One watcher on the client's shared watch stream. Updates arrive in order on <see cref="Updates"/>;
/// after a stream break the watch is re-created from the revision after the last one delivered, so no
/// event is missed or repeated. Dispose cancels it on the server.
/// </summary>
public sealed class EtcdWatch : IAsyncDisposable
{
    private readonly EtcdWatchStream _stream;
    private readonly Channel<WatchUpdate> _updates;

    internal EtcdWatch(EtcdWatchStream stream, WatchCreateRequest request, int bufferResponses)
    {
        _stream = stream;
        Request = request;
        _updates = Channel.CreateBounded<WatchUpdate>(new BoundedChannelOptions(bufferResponses)
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>The request as first made; resumes copy it with a newer start revision.</summary>
    public WatchCreateRequest Request { get; }

    /// <summary>The server's ID for this watch on the current stream (changes after a resume).</summary>
    public long WatchId { get; internal set; } = -1;

    /// <summary>Revision to resume from: one past the last event or progress delivered (0: as requested).</summary>
    public long NextRevision { get; internal set; }

    public ChannelReader<WatchUpdate> Updates => _updates.Reader;

    internal ChannelWriter<WatchUpdate> Writer => _updates.Writer;

    internal bool Ended { get; set; }

    public IAsyncEnumerable<WatchUpdate> ReadAllAsync(CancellationToken cancellationToken = default) => _updates.Reader.ReadAllAsync(cancellationToken);

    internal WatchCreateRequest ResumeRequest()
    {
        WatchCreateRequest resume = Request.Clone();
        if (NextRevision > 0)
        {
            resume.StartRevision = NextRevision;
        }

        resume.WatchId = 0;
        return resume;
    }

    public ValueTask DisposeAsync() => _stream.CancelAsync(this);
}
