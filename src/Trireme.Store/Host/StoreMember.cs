using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Trireme.Raft.Core;
using Trireme.Store.Core;
using Trireme.Store.Raft;
using Trireme.Store.Transport;
using Trireme.Store.Wal;

namespace Trireme.Store.Host;

/// <summary>
/// One store member: the Raft host loop around a pure <see cref="RaftNode"/> and the pure
/// <see cref="StoreStateMachine"/>. ONE thread (the loop) owns both: ticks, inbound messages, proposals,
/// reads and watch registrations arrive as actions in a bounded inbox and run there in order. After each
/// batch of actions the loop drains Ready: persist (WAL group commit, one fsync) → send → apply → serve
/// reads → Advance, exactly the order the core's contract states. Other threads only post actions and
/// await completions.
/// </summary>
public sealed partial class StoreMember : IAsyncDisposable
{
    /// <summary>Inbox bound: beyond it proposals answer "too many requests" and peer messages are dropped
    /// (Raft retransmits), so a flood cannot grow memory without bound.</summary>
    public const int MaxInboxActions = 65_536;

    /// <summary>Client calls waiting for their entry to apply; beyond it new ones are refused.</summary>
    public const int MaxPendingProposals = 16_384;

    private readonly StoreMemberOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<Action> _inbox = Channel.CreateBounded<Action>(new BoundedChannelOptions(MaxInboxActions)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.Wait,
    });
    /// <summary>Wakes the loop when the inbox gets work. Spin count 0: on a few shared cores a blocked
    /// loop must sleep at once rather than spin on sched_yield (Task.Wait and Channel waits spin first).</summary>
    private readonly ManualResetEventSlim _inboxSignal = new(false, spinCount: 0);
    private readonly ConcurrentDictionary<ulong, PendingProposal> _pending = new();

    /// <summary>Entries in <see cref="_pending"/> (ConcurrentDictionary.Count takes every bucket lock).</summary>
    private int _pendingCount;
    private readonly Dictionary<ulong, MemberInfo> _members = [];
    private readonly Thread _loop;
    private readonly TaskCompletionSource _loopStopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _published = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WriteAheadLog _wal = null!;
    private SnapshotFiles _snapshots = null!;
    private PeerTransport _transport = null!;
    private RaftNode _raft = null!;
    private StoreStateMachine _store = null!;
    private Timer? _ticker;

    /// <summary>Fails proposals past their deadline (<see cref="ExpirePending"/>): one timer for all of them.</summary>
    private Timer? _expiry;
    private long _nextRequestId;
    private long _nowTicks;
    private ulong _appliedIndex;
    private ulong _appliedTerm;
    private ulong _snapshotIndex;
    private ulong _leader;

    /// <summary>Bytes of entries applied since the member started, that count when the last snapshot
    /// was taken (or installed), and that snapshot's size: see <see cref="SnapshotDue"/>.</summary>
    private ulong _appliedBytes;
    private ulong _appliedBytesAtSnapshot;
    private ulong _lastSnapshotBytes;

    /// <summary>The Raft term, published by the loop for readers on other threads (see WriteHeader).</summary>
    private ulong _publishedTerm;
    private RaftRole _role;
    private volatile bool _stopping;

    /// <summary>The background write of the last snapshot file (see MaybeSnapshot).</summary>
    private Task _snapshotWrite = Task.CompletedTask;

    /// <summary>The background encoding of the last captured state-machine view (see MaybeSnapshot).</summary>
    private Task _snapshotEncode = Task.CompletedTask;

    /// <summary>Bumped on the loop whenever the configuration or the whole state changes under a
    /// snapshot being encoded (a conf change applied, a snapshot installed): such an encoding is stale.</summary>
    private long _snapshotEpoch;

    private StoreMember(StoreMemberOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _loop = new Thread(RunLoop) { IsBackground = true, Name = $"raft-loop-{options.Name}" };
        Id = options.MemberId;
        ClusterId = options.ClusterId;
    }

    public StoreMemberOptions Options => _options;

    /// <summary>Hashed once here: every applied entry and every response header reads it.</summary>
    public ulong Id { get; }

    public ulong ClusterId { get; }
    public IPEndPoint PeerEndpoint { get; private set; } = null!;

    /// <summary>Leader as last seen by the loop (0 = none); safe to read from any thread.</summary>
    public ulong Leader => Volatile.Read(ref _leader);

    public bool IsLeader => Leader == Id;

    /// <summary>Completes once this member's name and client URLs are in the applied member list (etcd's
    /// ReadyNotify after publish): from then on MemberList anywhere shows them, so the client API serves
    /// only after it, as etcd's does.</summary>
    public Task Published => _published.Task;

    /// <summary>Recovers from the data dir (snapshot + WAL) or bootstraps, starts the peer listener,
    /// the loop and the ticker. Throws <see cref="WalCorruptException"/> on a damaged WAL.</summary>
    public static StoreMember Start(StoreMemberOptions options, ILoggerFactory loggers)
    {
        var member = new StoreMember(options, loggers.CreateLogger("Trireme.Store"));
        member.Recover();
        member._publishedTerm = member._raft.Term;
        member._transport = new PeerTransport(member.ClusterId, member.Id,
            new PeerTransportOptions { Tls = options.PeerTls }, member.OnFrame, member.OnUnreachable,
            loggers.CreateLogger("Trireme.Store.Transport"));
        member.PeerEndpoint = member._transport.Listen(options.PeerListen);
        member.SyncTransportPeers();
        member._loop.Start();
        member._ticker = new Timer(_ => member.Post(member.OnTick), null, options.HeartbeatMilliseconds, options.HeartbeatMilliseconds);
        member._expiry = new Timer(_ => member.ExpirePending(), null, ExpiryPeriodMilliseconds, ExpiryPeriodMilliseconds);
        return member;
    }

    private void Recover()
    {
        var memberDir = Path.Combine(_options.DataDir, "member");
        _snapshots = new SnapshotFiles(Path.Combine(memberDir, "snap"));
        var notes = new List<string>();
        var snapshot = _snapshots.LoadNewest(notes);
        _wal = WriteAheadLog.Open(Path.Combine(memberDir, "wal"), new WalOptions(), out var recovered);
        foreach (var note in notes.Concat(recovered.Notes))
        {
            LogRecoveryNote(_logger, note);
        }

        _store = new StoreStateMachine(new StoreOptions
        {
            QuotaBytes = _options.QuotaBytes,
            TicksPerSecond = Math.Max(1, 1000 / _options.HeartbeatMilliseconds),
            MinLeaseTtlSeconds = StoreOptions.MinLeaseTtlSecondsFor(_options.ElectionTicks, _options.HeartbeatMilliseconds),
        });
        foreach (var m in _options.InitialMembers)
        {
            _members[MemberIdentity.MemberId(m.PeerUrls, _options.ClusterToken)] = m with
            {
                Id = MemberIdentity.MemberId(m.PeerUrls, _options.ClusterToken),
            };
        }

        var config = new RaftConfig
        {
            Id = Id,
            ElectionTicks = _options.ElectionTicks,
            HeartbeatTicks = 1,
        };
        var random = new Random(unchecked((int)Id ^ Environment.ProcessId));
        var fresh = snapshot is null && recovered.Entries.Count == 0 && recovered.HardState.IsEmpty;
        if (fresh && _options.NewCluster)
        {
            var voters = _members.Keys.Order().ToArray();
            _raft = RaftNode.Bootstrap(config, new ConfState(voters, []), random);
            return;
        }

        Snapshot? raftSnapshot = null;
        if (snapshot is not null)
        {
            RestoreStateMachine(snapshot.Data.Span);
            _appliedIndex = _snapshotIndex = snapshot.Index;
            _appliedTerm = snapshot.Term;
            _lastSnapshotBytes = (ulong)snapshot.Data.Length;
            raftSnapshot = new Snapshot(new SnapshotMetadata(snapshot.Index, snapshot.Term,
                new ConfState(snapshot.Voters, snapshot.Learners)), snapshot.Data);
        }

        var hs = recovered.HardState;
        var entries = recovered.Entries.Where(e => e.Index > _snapshotIndex)
            .Select(e => new Entry(e.Term, e.Index, (EntryType)e.Type, e.Data)).ToList();
        var hardState = new HardState(hs.Term, hs.Vote, Math.Max(hs.Commit, _snapshotIndex));
        _raft = RaftNode.Restart(config, new RaftPersistedState(hardState, raftSnapshot, entries), random);
        LogRecovered(_logger, _options.Name, _snapshotIndex, entries.Count, hs.Term, hs.Commit);
    }

    /// <summary>Snapshot payload: <c>[u32 members JSON length][members JSON][store snapshot]</c>.</summary>
    /// <summary>Raft snapshot data: <c>[u32 length][members][store snapshot]</c>, in one array.</summary>
    private static byte[] EncodeSnapshot(byte[] members, StoreSnapshotView store)
    {
        var bytes = store.Encode(reservedPrefixBytes: 4 + members.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, (uint)members.Length);
        members.CopyTo(bytes, 4);
        return bytes;
    }

    private void RestoreStateMachine(ReadOnlySpan<byte> data)
    {
        var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
        var members = MemberIdentity.DecodeList(data.Slice(4, length));
        _members.Clear();
        foreach (var m in members)
        {
            _members[m.Id] = m;
        }

        _store.RestoreSnapshot(data[(4 + length)..]);
        if (_role == RaftRole.Leader)
        {
            _store.Leases.Promote(_nowTicks, _options.ElectionTicks);
        }
    }

    /// <summary>Points the transport at every other member's first peer URL.</summary>
    private void SyncTransportPeers()
    {
        foreach (var m in _members.Values)
        {
            if (m.Id != Id && m.PeerUrls.Count > 0 && TryEndpoint(m.PeerUrls[0], out var endpoint))
            {
                _transport.SetPeer(m.Id, endpoint);
            }
        }
    }

    internal static bool TryEndpoint(string url, out IPEndPoint endpoint)
    {
        endpoint = null!;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return false;
        }

        var host = uri.Host == "localhost" ? IPAddress.Loopback : IPAddress.TryParse(uri.Host, out var ip) ? ip : null;
        if (host is null)
        {
            var resolved = Dns.GetHostAddresses(uri.Host);
            if (resolved.Length == 0)
            {
                return false;
            }

            host = resolved[0];
        }

        endpoint = new IPEndPoint(host, uri.Port);
        return true;
    }

    /// <summary>On a transport thread: the frame's buffer is reused once this returns, and the codec
    /// copies what the message keeps (entry payloads, context, snapshot) out of it.</summary>
    private void OnFrame(ulong from, ReadOnlyMemory<byte> frame)
    {
        if (RaftWireCodec.TryDecode(frame, out var message) && message.From == from)
        {
            Post(() => _raft.Step(message));
        }
        else
        {
            LogBadFrame(_logger, from, frame.Length);
        }
    }

    private void OnUnreachable(ulong peer) => Post(() => _raft.ReportUnreachable(peer));

    /// <summary>Queues work for the loop thread; false when the inbox is full or the member is stopping.</summary>
    internal bool Post(Action action)
    {
        if (_stopping || !_inbox.Writer.TryWrite(action))
        {
            return false;
        }

        _inboxSignal.Set();
        return true;
    }

    /// <summary>Runs <paramref name="read"/> on the loop thread (the only thread that touches the state).</summary>
    internal Task<T> OnLoopAsync<T>(Func<T> read)
    {
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!Post(() =>
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
            }))
        {
            tcs.TrySetException(Trireme.Store.Api.EtcdErrors.TooManyRequests.ToException());
        }

        return tcs.Task;
    }

    private ulong NextRequestId() => (ulong)Interlocked.Increment(ref _nextRequestId);

    public async ValueTask DisposeAsync()
    {
        if (_expiry is not null)
        {
            await _expiry.DisposeAsync().ConfigureAwait(false);
        }

        if (_ticker is not null)
        {
            await _ticker.DisposeAsync().ConfigureAwait(false);
        }

        _stopping = true;
        _inbox.Writer.TryComplete();
        _inboxSignal.Set();
        await _loopStopped.Task.ConfigureAwait(false);
        await _snapshotEncode.ConfigureAwait(false);
        await _snapshotWrite.ConfigureAwait(false);
        await _transport.DisposeAsync().ConfigureAwait(false);
        await _wal.DisposeAsync().ConfigureAwait(false);
        foreach (var pending in _pending.Values)
        {
            pending.TrySetException(Trireme.Store.Api.EtcdErrors.Stopped.ToException());
        }

        FailAllReads(Trireme.Store.Api.EtcdErrors.Stopped);
        CloseAllWatchStreams();
    }

    [LoggerMessage(EventId = 3000, Level = LogLevel.Warning, Message = "recovery: {Note}")]
    private static partial void LogRecoveryNote(ILogger logger, string note);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "member {Name} recovered: snapshot at {SnapshotIndex}, {Entries} log entries, term {Term}, commit {Commit}")]
    private static partial void LogRecovered(ILogger logger, string name, ulong snapshotIndex, int entries, ulong term, ulong commit);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "dropped an undecodable or misaddressed {Length}-byte frame from peer {Peer:x}")]
    private static partial void LogBadFrame(ILogger logger, ulong peer, int length);
}
