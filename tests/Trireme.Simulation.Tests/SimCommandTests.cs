// Proves `trireme sim` is usable as documented: it prints a readable summary with every checker's verdict
// and exits 0 on a passing run, exits 1 and prints the replay command when a checker fires (a broken
// variant), and exits 2 on an unknown fault name. The command tree is parsed and invoked in process.
using System.CommandLine;
using Trireme.Cli;

namespace Trireme.Simulation.Tests;

public sealed class SimCommandTests
{
    private static (int Exit, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = Program.BuildRoot().Parse(args).Invoke(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public void Passing_run_prints_a_summary_and_exits_zero()
    {
        var (exit, output, _) = Run("sim", "--nodes", "3", "--seed", "42", "--steps", "1500");

        Assert.True(exit == 0, output);
        foreach (var word in new[] { "elections:", "committed", "faults:", "clients:", "linearizability: Linearizable", "verdict:     PASS" })
        {
            Assert.Contains(word, output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Broken_variant_fails_with_the_replay_command()
    {
        var (exit, output, _) = Run("sim", "--nodes", "3", "--seed", "1", "--steps", "2000", "--seeds", "30", "--broken", "VoteTwiceInTerm");

        Assert.Equal(1, exit);
        Assert.Contains("ElectionSafety", output, StringComparison.Ordinal);
        Assert.Contains("replay: trireme sim --seed", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_fault_is_a_usage_error()
    {
        var (exit, _, error) = Run("sim", "--faults", "drop,meteor");

        Assert.Equal(2, exit);
        Assert.Contains("meteor", error, StringComparison.Ordinal);
    }
}
