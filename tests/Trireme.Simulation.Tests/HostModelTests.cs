// Proves the simulated host's building blocks model what the checkers rely on: a disk keeps exactly
// what was synced plus, at a crash, an in-order prefix of what was not; a log overwrite truncates the
// conflicting suffix and recomputes prefix hashes; the KV state machine applies a retried command once
// and its snapshot round-trips to an equal state.
using Trireme.Linearizability;
using Trireme.Raft.Core;
using Trireme.Raft.Simulation;

namespace Trireme.Simulation.Tests;

public sealed class HostModelTests
{
    private static Entry E(ulong term, ulong index, byte data = 0) => new(term, index, EntryType.Normal, new[] { data });

    [Fact]
    public void Synced_writes_survive_a_crash_and_unsynced_ones_may_not()
    {
        var disk = new SimulatedDisk((_, _) => { });
        disk.WriteEntries([E(1, 1), E(1, 2)]);
        disk.WriteHardState(new HardState(1, 1, 2));
        disk.Sync();
        disk.WriteEntries([E(1, 3)]);
        disk.WriteHardState(new HardState(2, 3, 2));

        // Random(0)'s first draw decides how much of the unsynced journal survives; either way the
        // synced part is there and the written view becomes the durable one.
        disk.Crash(new Random(0));

        Assert.True(disk.Durable.LastIndex >= 2);
        Assert.True(disk.Durable.HardState.Term >= 1);
        Assert.Equal(disk.Durable.LastIndex, disk.Written.LastIndex);
        Assert.False(disk.HasUnsynced);
    }

    [Fact]
    public void Crash_keeps_only_an_in_order_prefix_of_unsynced_writes()
    {
        for (var seed = 0; seed < 50; seed++)
        {
            var disk = new SimulatedDisk((_, _) => { });
            disk.WriteEntries([E(1, 1)]);
            disk.WriteHardState(new HardState(1, 0, 1));
            disk.Crash(new Random(seed));

            // The hard state was written after the entry: it cannot survive without it.
            Assert.False(disk.Durable.HardState.Commit == 1 && disk.Durable.LastIndex == 0);
        }
    }

    [Fact]
    public void Overwrite_truncates_the_suffix_and_changes_the_prefix_hash()
    {
        var log = new LogView();
        log.Append([E(1, 1), E(1, 2, 1), E(1, 3, 2)]);
        var before = log.PrefixAt(2);
        log.Append([E(2, 2, 9)]);

        Assert.Equal(2UL, log.LastIndex);
        Assert.Equal(2UL, log.TermAt(2));
        Assert.NotEqual(before, log.PrefixAt(2));
        Assert.Throws<SimulationInvariantException>(() => log.Append([E(2, 5)]));
    }

    [Fact]
    public void Retried_command_applies_once_and_gets_the_first_answer()
    {
        var machine = new KvStateMachine();
        var cas = new KvCommand(1, 1, KvInput.Cas("k", null, "v1"));

        Assert.Equal(KvOutput.Swapped(true), machine.Apply(cas));
        machine.Apply(new KvCommand(2, 1, KvInput.Put("k", "v2")));
        Assert.Equal(KvOutput.Swapped(true), machine.Apply(cas)); // the retry: same answer, no effect
        Assert.Equal("v2", machine.Get("k"));
        Assert.Null(machine.Apply(cas with { Sequence = 0 })); // older than the session: ignored
    }

    [Fact]
    public void Snapshot_round_trips_to_an_equal_state()
    {
        var machine = new KvStateMachine();
        machine.Apply(new KvCommand(1, 1, KvInput.Put("a", "1")));
        machine.Apply(new KvCommand(2, 4, KvInput.Cas("b", null, "2")));

        var copy = KvStateMachine.Deserialize(machine.Serialize());

        Assert.Equal(machine.StateHash(), copy.StateHash());
        Assert.Equal("2", copy.Get("b"));
        Assert.Equal(machine.Serialize(), copy.Serialize());
    }

    [Fact]
    public void Command_encoding_round_trips()
    {
        var command = new KvCommand(3, 42, KvInput.Cas("key", null, "value"));
        Assert.Equal(command, KvCommand.Decode(command.Encode()));
    }
}
