using System.Buffers.Binary;
using System.Globalization;
using Trireme.Linearizability;
using Trireme.Raft.Core;

namespace Trireme.Raft.Simulation;

/// <summary>
/// A simulated client: one operation at a time, put/get/compare-and-swap on a few shared keys. Writes
/// are proposed (the node forwards them to its leader) and answered by the node the client asked once
/// it applies them; reads use ReadIndex and are answered once that node has applied up to the read
/// index. A timed-out operation is retried elsewhere with the same sequence number — the state
/// machine's session table makes it apply once — and after a few tries the client gives up and the
/// operation goes into the history as pending: it may or may not have happened.
/// </summary>
internal sealed class SimClient
{
    private const int MaxAttempts = 4;

    private readonly Simulator _sim;
    private readonly Random _random;
    private ulong _nextSequence = 1;
    private ulong _nextReadId = 1;
    private long _nextStartStep;
    private ulong _leaderGuess;
    private Pending? _op;

    public SimClient(Simulator sim, int id, Random random)
    {
        _sim = sim;
        Id = id;
        _random = random;
        _nextStartStep = random.Next(20);
    }

    public int Id { get; }

    public bool IsBusy => _op is not null;

    public long? BusySinceStep => _op?.StartStep;

    public void Act(long now, bool stopStarting)
    {
        if (_op is null)
        {
            if (!stopStarting && now >= _nextStartStep)
            {
                Start(now);
            }

            return;
        }

        if (_op.Waiting && now >= _op.DeadlineStep)
        {
            _sim.Stats.ClientRetries++;
            _op.Attempts++;
            _op.Waiting = false;
            _leaderGuess = 0;
            if (_op.Attempts >= MaxAttempts && !_sim.InHealPhase)
            {
                GiveUp(now);
                return;
            }
        }

        if (!_op.Waiting && now >= _op.NextSendStep)
        {
            Send(now);
        }
    }

    /// <summary>A node the client asked applied the command: the answer arrives.</summary>
    public void OnApplied(SimNode node, in KvCommand command, KvOutput output)
    {
        if (_op is { IsRead: false } op && op.Waiting && op.Sequence == command.Sequence && op.Target == node.Id)
        {
            Complete(output);
        }
    }

    public void OnReadReady(SimNode node, ulong readId)
    {
        if (_op is { IsRead: true } op && op.Waiting && op.ReadId == readId && op.Target == node.Id)
        {
            Complete(node.ReadLocal(op.Input.Key));
        }
    }

    /// <summary>The run ended with this operation unanswered.</summary>
    public void Abandon()
    {
        if (_op is not null)
        {
            _sim.RecordPending(Id, _op.Input, _op.CallTime);
            _op = null;
        }
    }

    public static byte[] ReadContext(int client, ulong readId)
    {
        var bytes = new byte[12];
        BinaryPrimitives.WriteInt32LittleEndian(bytes, client);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(4), readId);
        return bytes;
    }

    public static bool TryParseReadContext(ReadOnlySpan<byte> context, out int client, out ulong readId)
    {
        client = 0;
        readId = 0;
        if (context.Length != 12)
        {
            return false;
        }

        client = BinaryPrimitives.ReadInt32LittleEndian(context);
        readId = BinaryPrimitives.ReadUInt64LittleEndian(context[4..]);
        return true;
    }

    private void Start(long now)
    {
        var key = "k" + _random.Next(_sim.Options.Keys).ToString(CultureInfo.InvariantCulture);
        var sequence = _nextSequence++;
        var value = $"c{Id}-{sequence}";
        var roll = _random.Next(100);
        KvInput input;
        if (roll < 40)
        {
            input = KvInput.Get(key);
        }
        else if (roll < 70)
        {
            input = KvInput.Put(key, value);
        }
        else if (roll < 75)
        {
            input = KvInput.Delete(key);
        }
        else
        {
            // Expect a value this client last saw, or absence: sometimes right, sometimes stale.
            input = KvInput.Cas(key, _random.Next(4) == 0 ? null : _sim.LastValueSeen(key), value);
        }

        _op = new Pending(input, sequence, _sim.NextEventTime(), now);
        _sim.Stats.ClientOperations++;
        Send(now);
    }

    private void Send(long now)
    {
        var op = _op!;
        var target = _sim.PickNode(_leaderGuess);
        if (target is null)
        {
            op.NextSendStep = now + 2;
            return;
        }

        op.Target = target.Id;
        if (op.IsRead)
        {
            op.ReadId = _nextReadId++;
            target.Core.ReadIndex(ReadContext(Id, op.ReadId));
            Wait(now);
            return;
        }

        var result = target.Core.Propose(new KvCommand(Id, op.Sequence, op.Input).Encode());
        switch (result.Outcome)
        {
            case ProposeOutcome.Accepted:
            case ProposeOutcome.Forwarded:
                Wait(now);
                break;
            case ProposeOutcome.NotLeader:
                // Follow the hint at once; with no leader known, back off for an election's worth.
                _leaderGuess = result.LeaderHint;
                op.NextSendStep = now + (result.LeaderHint == 0 ? 1 + _random.Next(_sim.Options.ElectionTicks) : 1);
                break;
            default:
                _leaderGuess = 0;
                op.NextSendStep = now + 1 + _random.Next(5);
                break;
        }
    }

    private void Wait(long now)
    {
        var op = _op!;
        op.Waiting = true;
        op.DeadlineStep = now + (3 * _sim.Options.ElectionTicks);
    }

    private void Complete(KvOutput output)
    {
        var op = _op!;
        _sim.RecordCompleted(Id, op.Input, output, op.CallTime);
        _leaderGuess = op.Target;
        _op = null;
        _nextStartStep = _sim.Now + _random.Next(8);
    }

    private void GiveUp(long now)
    {
        _sim.RecordPending(Id, _op!.Input, _op.CallTime);
        _op = null;
        _nextStartStep = now + _random.Next(8);
    }

    private sealed class Pending(KvInput input, ulong sequence, long callTime, long startStep)
    {
        public KvInput Input { get; } = input;

        public bool IsRead => Input.Kind == KvOpKind.Get;

        public ulong Sequence { get; } = sequence;

        public long CallTime { get; } = callTime;

        public long StartStep { get; } = startStep;

        public ulong ReadId { get; set; }

        public ulong Target { get; set; }

        public int Attempts { get; set; }

        public bool Waiting { get; set; }

        public long DeadlineStep { get; set; }

        public long NextSendStep { get; set; }
    }
}
