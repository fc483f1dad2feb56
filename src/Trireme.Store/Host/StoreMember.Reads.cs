using System.Buffers.Binary;
using Trireme.Raft.Core;
using Trireme.Store.Api;

namespace Trireme.Store.Host;

// Linearizable reads through ReadIndex, batched: every read that arrives while one ReadIndex is in flight
// rides on the next one, so N concurrent reads cost one quorum round, not N.
public sealed partial class StoreMember
{
    private sealed class ReadWaiter(Action serve, Action<Exception> fail, long deadlineTick)
    {
        public Action Serve { get; } = serve;
        public Action<Exception> Fail { get; } = fail;
        public long DeadlineTick { get; } = deadlineTick;
    }

    private sealed class ReadBatch(ulong context, List<ReadWaiter> waiters, long issuedTick)
    {
        public ulong Context { get; } = context;
        public List<ReadWaiter> Waiters { get; } = waiters;
        public long IssuedTick { get; } = issuedTick;
        public ulong Index { get; set; }
    }

    private List<ReadWaiter> _queuedReads = [];
    private ReadBatch? _inflightRead;
    private readonly List<ReadBatch> _confirmedReads = [];
    private ulong _readContext;

    private Task<T> LinearizableRead<T>(Func<T> read, CancellationToken cancellationToken)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var timeoutTicks = (long)(_options.RequestTimeout.TotalMilliseconds / _options.HeartbeatMilliseconds);
        if (!Post(() =>
            {
                var waiter = new ReadWaiter(
                    () =>
                    {
                        try
                        {
                            tcs.TrySetResult(read());
                        }
#pragma warning disable CA1031 // the exception travels to the caller's task
                        catch (Exception e)
#pragma warning restore CA1031
                        {
                            tcs.TrySetException(e);
                        }
                    },
                    e => tcs.TrySetException(e),
                    _nowTicks + timeoutTicks);
                _queuedReads.Add(waiter);
                if (_inflightRead is null)
                {
                    IssueReadIndex();
                }
            }))
        {
            tcs.TrySetException((_stopping ? EtcdErrors.Stopped : EtcdErrors.TooManyRequests).ToException());
        }

        return tcs.Task.WaitAsync(cancellationToken);
    }

    private void IssueReadIndex()
    {
        if (_queuedReads.Count == 0)
        {
            return;
        }

        var context = ++_readContext;
        _inflightRead = new ReadBatch(context, _queuedReads, _nowTicks);
        _queuedReads = [];
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, context);
        _raft.ReadIndex(bytes);
    }

    private void OnReadState(ReadState state)
    {
        if (_inflightRead is not { } batch || state.RequestContext.Length != 8 ||
            BinaryPrimitives.ReadUInt64LittleEndian(state.RequestContext.Span) != batch.Context)
        {
            return;
        }

        batch.Index = state.Index;
        _confirmedReads.Add(batch);
        _inflightRead = null;
        IssueReadIndex();
    }

    /// <summary>Serves confirmed batches once the applied index has reached their read index.</summary>
    private void ServeReadyReads()
    {
        for (var i = 0; i < _confirmedReads.Count; i++)
        {
            var batch = _confirmedReads[i];
            if (batch.Index > _appliedIndex)
            {
                continue;
            }

            foreach (var waiter in batch.Waiters)
            {
                waiter.Serve();
            }

            _confirmedReads.RemoveAt(i--);
        }
    }

    /// <summary>A ReadIndex lost to a leader change is reissued after an election timeout; reads past
    /// their deadline fail with etcd's timeout error.</summary>
    private void TickReads()
    {
        if (_inflightRead is { } batch && _nowTicks - batch.IssuedTick >= _options.ElectionTicks)
        {
            _inflightRead = null;
            var alive = batch.Waiters.Where(w => w.DeadlineTick > _nowTicks).ToList();
            foreach (var expired in batch.Waiters.Where(w => w.DeadlineTick <= _nowTicks))
            {
                expired.Fail(EtcdErrors.Timeout.ToException());
            }

            _queuedReads.InsertRange(0, alive);
            IssueReadIndex();
        }
    }

    private void FailAllReads(EtcdError error)
    {
        var all = _queuedReads.Concat(_inflightRead?.Waiters ?? []).Concat(_confirmedReads.SelectMany(b => b.Waiters));
        foreach (var waiter in all.ToList())
        {
            waiter.Fail(error.ToException());
        }
    }
}
