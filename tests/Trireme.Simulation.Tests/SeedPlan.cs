using System.Globalization;
using Trireme.Raft.Simulation;

namespace Trireme.Simulation.Tests;

/// <summary>
/// Which runs the seed sweep makes, derived from the seed alone so that one number replays a run:
/// cluster sizes cycle 3, 5, 3, 5, 4 (odd sizes are what operators run; 4 checks even quorums), all
/// faults on, a few thousand steps. Environment: TRIREME_SIM_SEEDS=n runs n seeds, TRIREME_SIM_SEED=s
/// runs only seed s.
/// </summary>
internal static class SeedPlan
{
    public const int DefaultSeeds = 500;
    public const int StepsPerSeed = 3000;
    private static readonly int[] Sizes = [3, 5, 3, 5, 4];

    public static SimOptions For(int seed) => new()
    {
        Seed = seed,
        Nodes = Sizes[(int)((uint)seed % Sizes.Length)],
        Steps = StepsPerSeed,
        Faults = SimFaults.All,
    };

    public static IReadOnlyList<int> Seeds()
    {
        if (Environment.GetEnvironmentVariable("TRIREME_SIM_SEED") is { Length: > 0 } one)
        {
            return [int.Parse(one, CultureInfo.InvariantCulture)];
        }

        var count = Environment.GetEnvironmentVariable("TRIREME_SIM_SEEDS") is { Length: > 0 } many
            ? int.Parse(many, CultureInfo.InvariantCulture)
            : DefaultSeeds;
        return Enumerable.Range(1, count).ToArray();
    }

    public static string ReplayHint(SimResult result) =>
        $"replay: TRIREME_SIM_SEED={result.Options.Seed} TEST_FILTER=FullyQualifiedName~SeedSweep ./test.sh"
        + $"   or   {result.ReplayCommand}";
}
