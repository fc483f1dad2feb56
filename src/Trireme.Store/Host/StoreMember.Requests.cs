using System.Text.Json;
using Trireme.Raft.Core;
using Trireme.Store.Api;
using Trireme.Store.Core;
using Trireme.Store.Core.Codec;

namespace Trireme.Store.Host;

/// <summary>What Maintenance.Status reports.</summary>
public sealed record MemberStatus(ulong Id, ulong Leader, ulong Term, ulong RaftIndex, ulong AppliedIndex,
    long DbSizeBytes, bool IsLearner, IReadOnlyList<AlarmMember> Alarms);

// Client-facing operations: each posts to the loop and awaits the result.
public sealed partial class StoreMember
{
    /// <summary>Proposes a write and waits until it is applied here; returns the state machine's result.</summary>
    public async Task<ApplyResult> ProposeAsync(StoreRequest request, CancellationToken cancellationToken)
    {
        var requestId = NextRequestId();
        var entry = EncodeStoreEntry(request, requestId);
        if (entry.Length - EntryEnvelope.HeaderBytes > EtcdLimits.MaxRequestBytes)
        {
            throw EtcdErrors.RequestTooLarge.ToException();
        }

        var result = await Submit(requestId, () => _raft.Propose(entry), cancellationToken).ConfigureAwait(false);
        return (ApplyResult)result!;
    }

    /// <summary>A store command as a log entry: the command is encoded after room for the envelope, one
    /// array per proposal, which is also the entry (and, for a plain put, the stored value's bytes; see
    /// CommandCodec.Decode). Request id 0 is a proposal nobody waits for.</summary>
    private byte[] EncodeStoreEntry(StoreRequest request, ulong requestId)
    {
        var entry = CommandCodec.Encode(new StoreCommand(request, Id), EntryEnvelope.HeaderBytes);
        EntryEnvelope.WriteHeader(entry, EntryEnvelope.StoreCommand, Id, requestId);
        return entry;
    }

    /// <summary>How often proposals are checked against their deadline: a timeout fires at most this late.</summary>
    private const int ExpiryPeriodMilliseconds = 100;

    /// <summary>
    /// A proposal waiting to be applied on this member. The apply completes it; a cancelled call cancels
    /// it; <see cref="ExpirePending"/> fails it once <see cref="DeadlineMilliseconds"/> (on
    /// <see cref="Environment.TickCount64"/>) has passed. One sweep for all of them replaces a timer per
    /// call (a timer, its queue links and a cancellation promise that lived as long as the call).
    /// </summary>
    private sealed class PendingProposal(long deadlineMilliseconds)
        : TaskCompletionSource<object?>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public long DeadlineMilliseconds { get; } = deadlineMilliseconds;
    }

    private async Task<object?> Submit(ulong requestId, Func<ProposeResult> propose, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _pendingCount) >= MaxPendingProposals)
        {
            throw EtcdErrors.TooManyRequests.ToException();
        }

        var waiter = new PendingProposal(Environment.TickCount64 + (long)_options.RequestTimeout.TotalMilliseconds);
        _pending[requestId] = waiter;
        Interlocked.Increment(ref _pendingCount);
        var posted = Post(() =>
        {
            var outcome = propose();
            var error = outcome.Outcome switch
            {
                ProposeOutcome.NotLeader => EtcdErrors.NoLeader,
                ProposeOutcome.Dropped => EtcdErrors.TooManyRequests,
                ProposeOutcome.TooLarge => EtcdErrors.RequestTooLarge,
                _ => null,
            };
            if (error is not null && TakePending(requestId, out var w))
            {
                w.TrySetException(error.ToException());
            }
        });
        if (!posted)
        {
            TakePending(requestId, out _);
            throw (_stopping ? EtcdErrors.Stopped : EtcdErrors.TooManyRequests).ToException();
        }

        using var cancellation = cancellationToken.UnsafeRegister(
            static (state, token) => ((PendingProposal)state!).TrySetCanceled(token), waiter);
        try
        {
            return await waiter.Task.ConfigureAwait(false);
        }
        finally
        {
            TakePending(requestId, out _);
        }
    }

    /// <summary>Removes a waiting proposal (whoever removes it completes it).</summary>
    private bool TakePending(ulong requestId, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out PendingProposal? waiter)
    {
        if (!_pending.TryRemove(requestId, out waiter))
        {
            return false;
        }

        Interlocked.Decrement(ref _pendingCount);
        return true;
    }

    /// <summary>Fails every proposal past its deadline with etcd's timeout error (the one that blames a lost
    /// leader when no leader is known now, as etcd's).</summary>
    private void ExpirePending()
    {
        if (Volatile.Read(ref _pendingCount) == 0)
        {
            return;
        }

        var now = Environment.TickCount64;
        foreach (var (requestId, waiter) in _pending)
        {
            if (waiter.DeadlineMilliseconds <= now && TakePending(requestId, out var expired))
            {
                expired.TrySetException((Leader == 0 ? EtcdErrors.TimeoutDueToLeaderFail : EtcdErrors.Timeout).ToException());
            }
        }
    }

    /// <summary>A read: serializable runs on the local state now; linearizable first confirms through
    /// ReadIndex that this member has applied everything committed when the read arrived.</summary>
    public Task<T> ReadAsync<T>(bool serializable, Func<StoreStateMachine, T> read, CancellationToken cancellationToken)
    {
        if (serializable)
        {
            return OnLoopAsync(() => read(_store));
        }

        return LinearizableRead(() => read(_store), cancellationToken);
    }

    public Task<MemberStatus> StatusAsync() => OnLoopAsync(() =>
    {
        var status = _raft.Status;
        return new MemberStatus(Id, status.Leader, status.Term, status.LastIndex, _appliedIndex, _store.AccountedBytes,
            status.ConfState.Learners.Contains(Id), _store.Alarms);
    });

    public Task<List<MemberInfo>> MembersAsync() => OnLoopAsync(() => _members.Values.OrderBy(m => m.Id).ToList());

    /// <summary>KeepAlive on the leader's lease clock (etcd does not go through the log for it).</summary>
    public Task<(long Ttl, StoreError? Error)> RenewLeaseAsync(long id) => OnLoopAsync(() => _store.Leases.Renew(id, _nowTicks));

    public Task<LeaseTimeToLive?> TimeToLiveAsync(long id, bool keys) => OnLoopAsync(() => _store.TimeToLive(id, _nowTicks, keys));

    public async Task<(MemberInfo Member, List<MemberInfo> Members)> AddMemberAsync(IReadOnlyList<string> peerUrls, bool learner,
        CancellationToken cancellationToken)
    {
        if (peerUrls.Count == 0 || peerUrls.Any(u => !TryEndpoint(u, out _)))
        {
            throw EtcdErrors.MemberBadUrls.ToException();
        }

        var id = MemberIdentity.MemberId(peerUrls, _options.ClusterToken);
        var existing = await MembersAsync().ConfigureAwait(false);
        if (existing.Any(m => m.Id == id))
        {
            throw EtcdErrors.MemberExist.ToException();
        }

        if (existing.Any(m => m.PeerUrls.Intersect(peerUrls).Any()))
        {
            throw EtcdErrors.PeerUrlExist.ToException();
        }

        var member = new MemberInfo { Id = id, PeerUrls = peerUrls, IsLearner = learner };
        var members = await ChangeMembership(learner ? ConfChangeType.AddLearner : ConfChangeType.AddVoter, member, cancellationToken)
            .ConfigureAwait(false);
        return (member, members);
    }

    public async Task<List<MemberInfo>> RemoveMemberAsync(ulong id, CancellationToken cancellationToken)
    {
        var member = (await MembersAsync().ConfigureAwait(false)).FirstOrDefault(m => m.Id == id)
            ?? throw EtcdErrors.MemberNotFound.ToException();
        return await ChangeMembership(ConfChangeType.RemoveNode, member, cancellationToken).ConfigureAwait(false);
    }

    public async Task<List<MemberInfo>> PromoteMemberAsync(ulong id, CancellationToken cancellationToken)
    {
        var member = (await MembersAsync().ConfigureAwait(false)).FirstOrDefault(m => m.Id == id)
            ?? throw EtcdErrors.MemberNotFound.ToException();
        if (!member.IsLearner)
        {
            throw EtcdErrors.MemberNotLearner.ToException();
        }

        var ready = await OnLoopAsync(() =>
        {
            // etcd promotes only a learner whose log is within 90% of the leader's; a follower cannot
            // see progress, so it lets the leader's Raft decide (the change is forwarded).
            var status = _raft.Status;
            return status.Role != RaftRole.Leader ||
                   (status.Progress.TryGetValue(id, out var p) && p.Match * 10 >= status.Commit * 9);
        }).ConfigureAwait(false);
        if (!ready)
        {
            throw EtcdErrors.LearnerNotReady.ToException();
        }

        return await ChangeMembership(ConfChangeType.PromoteLearner, member, cancellationToken).ConfigureAwait(false);
    }

    public async Task<List<MemberInfo>> UpdateMemberAsync(ulong id, IReadOnlyList<string> peerUrls, CancellationToken cancellationToken)
    {
        var member = (await MembersAsync().ConfigureAwait(false)).FirstOrDefault(m => m.Id == id)
            ?? throw EtcdErrors.MemberNotFound.ToException();
        // Re-adding with the same type carries the new URLs through a conf-change entry.
        return await ChangeMembership(member.IsLearner ? ConfChangeType.AddLearner : ConfChangeType.AddVoter,
            member with { PeerUrls = peerUrls }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<List<MemberInfo>> ChangeMembership(ConfChangeType type, MemberInfo member, CancellationToken cancellationToken)
    {
        var requestId = NextRequestId();
        var context = JsonSerializer.SerializeToUtf8Bytes(new ConfChangeContext(member, Id, requestId), MemberJson.Default.ConfChangeContext);
        var change = new ConfChange(type, member.Id, context);
        var result = await Submit(requestId, () =>
        {
            var outcome = _raft.ProposeConfChange(change);
            // One membership change at a time: etcd answers a concurrent one with "not enough started".
            return outcome.Outcome == ProposeOutcome.Dropped
                ? new ProposeResult(ProposeOutcome.Dropped, outcome.LeaderHint)
                : outcome;
        }, cancellationToken).ConfigureAwait(false);
        return (List<MemberInfo>)result!;
    }

    /// <summary>etcd's MoveLeader (and what a graceful stop does): transfer leadership to
    /// <paramref name="target"/> and wait until a leader other than this member is known.</summary>
    public async Task<bool> TransferLeadershipAsync(ulong target, TimeSpan timeout)
    {
        await OnLoopAsync(() =>
        {
            _raft.TransferLeadership(target);
            return true;
        }).ConfigureAwait(false);
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var leader = Leader;
            if (leader != 0 && leader != Id)
            {
                return true;
            }

            await Task.Delay(_options.HeartbeatMilliseconds / 2).ConfigureAwait(false);
        }

        return false;
    }

    /// <summary>On a graceful stop the leader hands over to its most caught-up voter first, so clients
    /// see a new leader within a round trip instead of an election timeout.</summary>
    public async Task StepDownAsync()
    {
        if (!IsLeader)
        {
            return;
        }

        var target = await OnLoopAsync(() =>
        {
            var status = _raft.Status;
            return status.Progress
                .Where(p => p.Key != Id && !p.Value.IsLearner && status.ConfState.Voters.Contains(p.Key))
                .OrderByDescending(p => p.Value.Match).Select(p => p.Key).FirstOrDefault();
        }).ConfigureAwait(false);
        if (target != 0)
        {
            await TransferLeadershipAsync(target, TimeSpan.FromMilliseconds(_options.ElectionMilliseconds * 2)).ConfigureAwait(false);
        }
    }
}
