// Proves the checkers catch real Raft bugs, not just pass quietly: each deliberately broken variant —
// in the core (RaftFaults, switched on through the simulator) or in the host's side of the Ready
// contract — is run over consecutive seeds until a checker fires, and the test asserts the checker that
// fired is one that this bug must trip, within a bounded number of seeds. The seeds that caught each
// bug when this was written are printed so a reader can replay one with `trireme sim --broken ...`.
using Trireme.Raft.Simulation;

namespace Trireme.Simulation.Tests;

public sealed class BrokenVariantTests(ITestOutputHelper output)
{
    /// <summary>Seeds tried before giving up on a variant; each is a short run.</summary>
    private const int MaxSeeds = 60;

    public static TheoryData<BrokenVariant, int, Checker[]> Variants => new()
    {
        // A leader that commits alone loses the "committed" entry when another node wins the next term.
        { BrokenVariant.CommitWithoutMajority, 3, [Checker.LeaderCompleteness, Checker.StateMachineSafety, Checker.Linearizability] },
        // Two votes in a term elect two leaders in it.
        { BrokenVariant.VoteTwiceInTerm, 3, [Checker.ElectionSafety] },
        // Appending after a mismatched previous entry leaves a log whose prefix differs from the leader's.
        { BrokenVariant.SkipLogMatchCheck, 3, [Checker.LogMatching, Checker.StateMachineSafety, Checker.LeaderCompleteness] },
        // Acknowledging before fsync: a crash loses entries a majority was counted for, or a vote.
        { BrokenVariant.SendBeforePersist, 3, [Checker.LeaderCompleteness, Checker.ElectionSafety, Checker.LogMatching, Checker.StateMachineSafety, Checker.Linearizability] },
        // Applying entries before they are durable or committed applies entries later overwritten.
        { BrokenVariant.ApplyBeforePersist, 3, [Checker.StateMachineSafety, Checker.Linearizability] },
        // A restarted node that forgot its vote can hand a second leader the same term.
        { BrokenVariant.ForgetVoteOnRestart, 3, [Checker.ElectionSafety] },
    };

    [Theory]
    [MemberData(nameof(Variants))]
    public void Broken_variant_is_caught_by_the_right_checker(BrokenVariant variant, int nodes, Checker[] expected)
    {
        var caught = 0;
        var firstSeed = -1;
        for (var seed = 1; seed <= MaxSeeds && caught < 1; seed++)
        {
            var result = Simulator.Run(HuntOptions(variant, nodes, seed));
            if (result.Passed)
            {
                continue;
            }

            Assert.True(
                expected.Contains(result.FailedChecker!.Value),
                $"{variant} tripped {result.FailedChecker}, expected one of {string.Join(", ", expected)}:\n{SimSummary.Format(result)}");
            caught++;
            firstSeed = seed;
            output.WriteLine($"{variant}: caught by {result.FailedChecker} on seed {seed} at step {result.FailedAtStep}: {result.ReplayCommand}");
        }

        Assert.True(caught > 0, $"{variant} survived {MaxSeeds} seeds: the checkers are blind to it");
        Assert.True(firstSeed > 0);
    }

    [Fact]
    public void Correct_host_and_core_pass_the_same_hunting_schedule()
    {
        // The hunting schedule is harsher than the sweep's (frequent crashes); without a broken variant it
        // must still pass, or the variant tests above would prove nothing.
        for (var seed = 1; seed <= 20; seed++)
        {
            var result = Simulator.Run(HuntOptions(BrokenVariant.None, 3, seed));
            Assert.True(result.Passed, SimSummary.Format(result));
            Assert.Equal(0, result.Stats[FaultKind.LinkQueueFull]);
        }
    }

    [Fact]
    public void Regression_seed_8_send_before_persist_storm_is_bounded_by_the_link_queue()
    {
        // Found when the hunts "stalled": with SendBeforePersist, seed 8 diverges logs so that append
        // rejections and 15 % duplication feed each other and the in-flight count grew without bound
        // (minutes of CPU, no checker verdict). A bounded per-link queue, as a real transport has, drops
        // the excess; the run must now end, and must have needed the bound.
        var result = Simulator.Run(HuntOptions(BrokenVariant.SendBeforePersist, 3, 8));

        Assert.True(result.Stats[FaultKind.LinkQueueFull] > 0, SimSummary.Format(result));
        Assert.True(result.Stats.MessagesSent < 20_000_000, SimSummary.Format(result));
    }

    /// <summary>Short runs with frequent crashes (quick reboots included): what the host-contract bugs
    /// need to show. The simulator skips the liveness check for broken variants — a broken host may lose its whole disk.</summary>
    internal static SimOptions HuntOptions(BrokenVariant variant, int nodes, int seed) => new()
    {
        Seed = seed,
        Nodes = nodes,
        Steps = 2000,
        Faults = SimFaults.All,
        Broken = variant,
        MeanStepsBetweenCrashes = 20,
        LinearizabilityMaxSteps = 50_000,
    };
}
