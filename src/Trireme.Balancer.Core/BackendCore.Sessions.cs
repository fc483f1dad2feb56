namespace Trireme.Balancer.Core;

// Connection accounting: assignment, connect failures with retries and redispatch, release, and the
// bounded maxconn queue.
public sealed partial class BackendCore
{
    /// <summary>A new client connection with id <paramref name="sessionId"/> from address
    /// <paramref name="client"/> (any stable 128-bit form of the source address).</summary>
    public Decision Assign(long sessionId, UInt128 client)
    {
        if (_sessions.ContainsKey(sessionId))
        {
            throw new InvalidOperationException($"session {sessionId} is already known to the backend");
        }

        var session = new Session(client);
        var decision = Place(session, exclude: null);
        if (decision.Kind == DecisionKind.Rejected)
        {
            return decision;
        }

        _sessions.Add(sessionId, session);
        if (decision.Kind == DecisionKind.Queued)
        {
            Enqueue(sessionId, session);
        }

        return decision;
    }

    /// <summary>
    /// The connect to the session's server failed. Frees its slot and, while retries remain, answers
    /// where to try next: the same server, or (with redispatch on the last retry, or when that server
    /// can no longer take it) another one.
    /// </summary>
    public Decision ConnectFailed(long sessionId)
    {
        if (!_sessions.TryGetValue(sessionId, out var session) || session.Server is not { } failed)
        {
            throw new InvalidOperationException($"session {sessionId} has no server to have failed on");
        }

        failed.ConnectErrors++;
        Unassign(session);
        session.Attempts++;
        if (session.Attempts > Settings.Retries)
        {
            _sessions.Remove(sessionId);
            ConnectFailuresFinal++;
            DrainQueue();
            return Decision.Reject(RejectReason.RetriesExhausted);
        }

        var redispatch = Settings.Redispatch && session.Attempts == Settings.Retries;
        Decision decision;
        if (!redispatch && failed.IsStickable && failed.HasFreeSlot && !failed.Removed)
        {
            AssignTo(session, failed);
            decision = Decision.Connect(failed);
        }
        else
        {
            failed.Redispatches++;
            decision = Place(session, exclude: failed);
            if (decision.Kind == DecisionKind.Rejected && failed.IsSelectable && failed.HasFreeSlot)
            {
                // The failed server is the only one left: trying it again beats refusing the client.
                AssignTo(session, failed);
                decision = Decision.Connect(failed);
            }
        }

        if (decision.Kind == DecisionKind.Rejected)
        {
            _sessions.Remove(sessionId);
        }
        else if (decision.Kind == DecisionKind.Queued)
        {
            Enqueue(sessionId, session);
        }

        return decision;
    }

    /// <summary>The session ended (closed, timed out, or given up while queued). Idempotent.</summary>
    public void Release(long sessionId)
    {
        if (!_sessions.Remove(sessionId, out var session))
        {
            return;
        }

        if (session.QueueNode is { } node)
        {
            _queue.Remove(node);
            session.QueueNode = null;
            if (session.PinnedTo is { } pinned)
            {
                pinned.QueuedSessions--;
            }

            return;
        }

        Unassign(session);
        DrainQueue();
    }

    private Decision Place(Session session, Server? exclude)
    {
        if (Stick is not null && Stick.TryGet(session.Client, NowTicks, out var stuckId)
            && FindServer(stuckId) is { IsStickable: true } stuck && stuck != exclude)
        {
            return PlaceOn(session, stuck);
        }

        var pool = SelectablePool(exclude);
        if (pool.Count == 0)
        {
            RejectedNoServer++;
            return Decision.Reject(RejectReason.NoServer);
        }

        if (Settings.Balance == BalanceAlgorithm.Source)
        {
            return PlaceOn(session, PickBySource(pool, session.Client));
        }

        var chosen = Settings.Balance == BalanceAlgorithm.LeastConn ? PickLeastConn(pool) : PickRoundRobin(pool);
        if (chosen is null)
        {
            return QueueOrReject(session, pinTo: null);
        }

        AssignTo(session, chosen);
        return Decision.Connect(chosen);
    }

    private Decision PlaceOn(Session session, Server server)
    {
        if (!server.HasFreeSlot)
        {
            return QueueOrReject(session, pinTo: server);
        }

        AssignTo(session, server);
        return Decision.Connect(server);
    }

    private Decision QueueOrReject(Session session, Server? pinTo)
    {
        if (_queue.Count >= Settings.MaxQueue)
        {
            RejectedQueueFull++;
            return Decision.Reject(RejectReason.QueueFull);
        }

        session.PinnedTo = pinTo;
        return Decision.Queued();
    }

    private void Enqueue(long sessionId, Session session)
    {
        session.QueueNode = _queue.AddLast(sessionId);
        session.EnqueuedAtTick = NowTicks;
        if (session.PinnedTo is { } pinned)
        {
            pinned.QueuedSessions++;
        }

        MaxQueueLength = Math.Max(MaxQueueLength, _queue.Count);
    }

    private void AssignTo(Session session, Server server)
    {
        session.Server = server;
        server.CurrentSessions++;
        server.MaxSessions = Math.Max(server.MaxSessions, server.CurrentSessions);
        server.TotalSessions++;
        CurrentSessions++;
        MaxSessions = Math.Max(MaxSessions, CurrentSessions);
        TotalSessions++;
        Stick?.Put(session.Client, server.Id, NowTicks);
    }

    private void Unassign(Session session)
    {
        var server = session.Server!;
        session.Server = null;
        server.CurrentSessions--;
        CurrentSessions--;
        if (server.CurrentSessions < 0 || CurrentSessions < 0)
        {
            throw new InvalidOperationException("session accounting went negative: a release was counted twice");
        }
    }

    /// <summary>Gives free slots to queued sessions in arrival order. The queue is bounded by
    /// MaxQueue, so one pass is bounded too.</summary>
    private void DrainQueue()
    {
        var node = _queue.First;
        while (node is not null)
        {
            var next = node.Next;
            var session = _sessions[node.Value];
            var target = session.PinnedTo;
            if (target is not null && !target.IsStickable)
            {
                // The server it waited for went away: it may now go anywhere.
                target.QueuedSessions--;
                session.PinnedTo = target = null;
            }

            if (target is null)
            {
                var pool = SelectablePool(exclude: null);
                target = Settings.Balance switch
                {
                    BalanceAlgorithm.LeastConn => PickLeastConn(pool),
                    _ => PickRoundRobin(pool),
                };
            }
            else if (target.HasFreeSlot)
            {
                target.QueuedSessions--;
            }
            else
            {
                target = null;
            }

            if (target is not null)
            {
                _queue.Remove(node);
                session.QueueNode = null;
                session.PinnedTo = null;
                AssignTo(session, target);
                _ready.Dequeued.Add((node.Value, target));
            }

            node = next;
        }
    }

    private void ExpireQueue()
    {
        while (_queue.First is { } first && _sessions[first.Value].EnqueuedAtTick + Settings.QueueTimeoutTicks <= NowTicks)
        {
            var sessionId = first.Value;
            Release(sessionId);
            QueueTimeouts++;
            _ready.QueueTimedOut.Add(sessionId);
        }
    }
}
