using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Trireme.Raft.Simulation;

namespace Trireme.Cli.Commands;

/// <summary>
/// <c>trireme sim</c>: runs the seeded whole-cluster Raft simulator from the command line, so a user can
/// watch consensus survive faults without a cluster, and a developer can replay a failing seed.
/// Exits 1 when a checker fires, 2 on bad arguments.
/// </summary>
public static class SimCommand
{
    public static Command Create()
    {
        var seed = new Option<int>("--seed") { Description = "Seed for every random choice; equal seeds replay equal runs", DefaultValueFactory = _ => 42 };
        var nodes = new Option<int>("--nodes") { Description = "Founding voters (1..7)", DefaultValueFactory = _ => 5 };
        var steps = new Option<int>("--steps") { Description = "Simulated steps (one tick each)", DefaultValueFactory = _ => 20000 };
        var faults = new Option<string>("--faults")
        {
            Description = "Comma-separated faults to inject: drop,delay,duplicate,partition,crash,skew,membership,transfer, or all / none",
            DefaultValueFactory = _ => "all",
        };
        var clients = new Option<int>("--clients") { Description = "Simulated clients doing put/get/cas", DefaultValueFactory = _ => 4 };
        var crashEvery = new Option<int>("--crash-every") { Description = "Mean steps between crashes", DefaultValueFactory = _ => 250 };
        var seeds = new Option<int>("--seeds") { Description = "Run this many consecutive seeds from --seed and print one line each", DefaultValueFactory = _ => 1 };
        var broken = new Option<string?>("--broken")
        {
            Description = "Deliberately broken variant(s) to prove the checkers: SendBeforePersist, ApplyBeforePersist, "
                + "ForgetVoteOnRestart, CommitWithoutMajority, VoteTwiceInTerm, SkipLogMatchCheck (comma-separated)",
        };

        var trace = new Option<bool>("--trace") { Description = "Print one line per notable event (roles, commits, membership, faults) before the summary" };

        var command = new Command("sim", "Run the seeded Raft cluster simulator with fault injection and safety/linearizability checkers.");
        foreach (var option in new Option[] { seed, nodes, steps, faults, clients, crashEvery, seeds, broken, trace })
        {
            command.Options.Add(option);
        }

        command.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            SimOptions options;
            try
            {
                var faultText = parse.GetValue(faults) ?? "all";
                options = new SimOptions
                {
                    Seed = parse.GetValue(seed),
                    Nodes = parse.GetValue(nodes),
                    Steps = parse.GetValue(steps),
                    Clients = parse.GetValue(clients),
                    MeanStepsBetweenCrashes = parse.GetValue(crashEvery),
                    Faults = faultText.Equals("all", StringComparison.OrdinalIgnoreCase) ? SimFaults.All : SimOptions.ParseFaults(faultText),
                    Broken = ParseBroken(parse.GetValue(broken)),
                    Trace = parse.GetValue(trace) ? output : null,
                };
                options = options with { HealSteps = Math.Min(options.HealSteps, options.Steps / 2), LivenessBoundTicks = Math.Min(options.LivenessBoundTicks, Math.Max(1, (options.Steps / 2) - 1)) };
                options.Validate();
            }
            catch (ArgumentException ex)
            {
                parse.InvocationConfiguration.Error.WriteLine($"trireme sim: {ex.Message}");
                return 2;
            }

            var count = Math.Max(1, parse.GetValue(seeds));
            return count == 1 ? RunOne(options, output) : RunMany(options, count, output);
        });
        return command;
    }

    private static int RunOne(SimOptions options, TextWriter output)
    {
        var clock = Stopwatch.StartNew();
        var result = Simulator.Run(options);
        clock.Stop();
        output.Write(SimSummary.Format(result));
        output.WriteLine($"wall time: {clock.Elapsed.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture)} ms");
        return result.Passed ? 0 : 1;
    }

    private static int RunMany(SimOptions options, int count, TextWriter output)
    {
        var failures = 0;
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var result = Simulator.Run(options with { Seed = options.Seed + i });
            if (!result.Passed)
            {
                failures++;
                output.WriteLine($"seed {result.Options.Seed}: FAILED {result.FailedChecker} at step {result.FailedAtStep}: {FirstLine(result.Failure)}");
                output.WriteLine($"  replay: {result.ReplayCommand}");
            }
        }

        output.WriteLine($"{count} seeds, {failures} failed, {clock.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)} s");
        return failures == 0 ? 0 : 1;
    }

    private static string FirstLine(string? text) => text is null ? "" : text.Split('\n')[0];

    private static BrokenVariant ParseBroken(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return BrokenVariant.None;
        }

        var variant = BrokenVariant.None;
        foreach (var word in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Enum.TryParse<BrokenVariant>(word, ignoreCase: true, out var one))
            {
                throw new ArgumentException($"unknown broken variant '{word}'");
            }

            variant |= one;
        }

        return variant;
    }
}
