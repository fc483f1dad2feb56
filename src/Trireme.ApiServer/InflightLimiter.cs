namespace Trireme.ApiServer;

/// <summary>Why a request was or was not admitted by an <see cref="InflightLimiter"/>.</summary>
public enum AdmissionOutcome
{
    Admitted,

    /// <summary>Every slot was busy and the wait queue was full: 429 at once.</summary>
    QueueFull,

    /// <summary>The request waited its whole bounded wait without getting a slot: 429.</summary>
    TimedOut,

    /// <summary>The client went away while queued; its queue place is freed and nothing is answered.</summary>
    Canceled,
}

/// <summary>
/// One kind's max-in-flight limit (read-only or mutating) with a bounded FIFO wait queue in front of
/// it, in the spirit of kube-apiserver's API Priority and Fairness: a burst over the limit waits for
/// a slot instead of being refused, and only a full queue or an expired wait answers 429. A freed
/// slot is handed straight to the oldest waiter (the count of busy slots does not drop), so a request
/// arriving while others wait never overtakes them. Thread-safe; the lock guards only list and
/// counter updates, never an await.
/// </summary>
public sealed class InflightLimiter
{
    private readonly Lock _lock = new();
    private readonly LinkedList<Waiter> _queue = new();
    private readonly TimeProvider _clock;
    private int _inflight;
    private long _queuedTotal;
    private long _waitTicksTotal;
    private long _rejectedQueueFull;
    private long _rejectedTimedOut;

    public InflightLimiter(int limit, int queueLength, TimeSpan maxWait, TimeProvider clock)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        ArgumentOutOfRangeException.ThrowIfNegative(queueLength);
        Limit = limit;
        QueueLength = queueLength;
        MaxWait = maxWait;
        _clock = clock;
    }

    public int Limit { get; }

    public int QueueLength { get; }

    public TimeSpan MaxWait { get; }

    public int Inflight
    {
        get { lock (_lock) { return _inflight; } }
    }

    public int Queued
    {
        get { lock (_lock) { return _queue.Count; } }
    }

    /// <summary>Requests that ever waited in the queue, whatever became of them.</summary>
    public long QueuedTotal
    {
        get { lock (_lock) { return _queuedTotal; } }
    }

    /// <summary>Total time spent waiting by requests that left the queue, for a mean wait in /metrics.</summary>
    public TimeSpan WaitTotal
    {
        get { lock (_lock) { return TimeSpan.FromTicks(_waitTicksTotal); } }
    }

    public long RejectedQueueFull
    {
        get { lock (_lock) { return _rejectedQueueFull; } }
    }

    public long RejectedTimedOut
    {
        get { lock (_lock) { return _rejectedTimedOut; } }
    }

    /// <summary>
    /// Takes a slot, waiting in FIFO order up to <see cref="MaxWait"/> when none is free. Admitted
    /// means the caller owns a slot and must call <see cref="Exit"/>; any other outcome owns nothing.
    /// </summary>
    public ValueTask<AdmissionOutcome> EnterAsync(CancellationToken requestAborted)
    {
        Waiter waiter;
        lock (_lock)
        {
            if (_inflight < Limit && _queue.Count == 0)
            {
                _inflight++;
                return ValueTask.FromResult(AdmissionOutcome.Admitted);
            }

            if (_queue.Count >= QueueLength)
            {
                _rejectedQueueFull++;
                return ValueTask.FromResult(AdmissionOutcome.QueueFull);
            }

            waiter = new Waiter(this, _clock.GetTimestamp());
            waiter.Node = _queue.AddLast(waiter);
            _queuedTotal++;
        }

        return WaitAsync(waiter, requestAborted);
    }

    private async ValueTask<AdmissionOutcome> WaitAsync(Waiter waiter, CancellationToken requestAborted)
    {
        using var timeout = new CancellationTokenSource(MaxWait, _clock);
        await using var onTimeout = timeout.Token.UnsafeRegister(static w => ((Waiter)w!).Owner.Abandon((Waiter)w, AdmissionOutcome.TimedOut), waiter)
            .ConfigureAwait(false);
        await using var onAbort = requestAborted.UnsafeRegister(static w => ((Waiter)w!).Owner.Abandon((Waiter)w, AdmissionOutcome.Canceled), waiter)
            .ConfigureAwait(false);
        // A token already canceled runs its callback during registration, so no separate check is needed.
        return await waiter.Result.Task.ConfigureAwait(false);
    }

    /// <summary>Leaves the queue if still in it; a waiter already handed a slot keeps it (Admitted wins).</summary>
    private void Abandon(Waiter waiter, AdmissionOutcome outcome)
    {
        lock (_lock)
        {
            if (waiter.Node?.List is null)
            {
                return;
            }

            _queue.Remove(waiter.Node);
            RecordWait(waiter);
            if (outcome == AdmissionOutcome.TimedOut)
            {
                _rejectedTimedOut++;
            }
        }

        waiter.Result.TrySetResult(outcome);
    }

    /// <summary>Gives a slot back: to the oldest waiter if any, else to the pool.</summary>
    public void Exit()
    {
        Waiter? next = null;
        lock (_lock)
        {
            if (_queue.First is { } first)
            {
                _queue.RemoveFirst();
                next = first.Value;
                RecordWait(next);
            }
            else
            {
                if (_inflight <= 0)
                {
                    throw new InvalidOperationException("InflightLimiter.Exit without a matching admission");
                }

                _inflight--;
            }
        }

        next?.Result.TrySetResult(AdmissionOutcome.Admitted);
    }

    private void RecordWait(Waiter waiter) =>
        _waitTicksTotal += _clock.GetElapsedTime(waiter.EnqueuedTimestamp).Ticks;

    private sealed class Waiter(InflightLimiter owner, long enqueuedTimestamp)
    {
        public InflightLimiter Owner { get; } = owner;

        public long EnqueuedTimestamp { get; } = enqueuedTimestamp;

        public LinkedListNode<Waiter>? Node { get; set; }

        public TaskCompletionSource<AdmissionOutcome> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
