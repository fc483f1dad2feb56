using System.Runtime.CompilerServices;
using System.Text;
using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Data-driven transcripts in the style of etcd-io/raft's testdata: each file in testdata/ is a script
// of commands ("> cmd args") each followed by the output it must produce. The runner replays the
// commands on a TestNetwork and compares the whole rendered transcript with the file. After a
// deliberate behaviour change, regenerate with TRIREME_REWRITE_TRANSCRIPTS=1 and review the diff.
public sealed class TranscriptTests
{
    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.GetFiles(TestDataDirectory(), "*.txt").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Transcript_replays_exactly(string file)
    {
        var path = Path.Combine(TestDataDirectory(), file);
        var expected = File.ReadAllText(path).ReplaceLineEndings("\n");
        var actual = new TranscriptRunner().Run(expected);
        if (Environment.GetEnvironmentVariable("TRIREME_REWRITE_TRANSCRIPTS") == "1")
        {
            File.WriteAllText(path, actual);
            return;
        }

        Assert.Equal(expected, actual);
    }

    private static string TestDataDirectory([CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "testdata");

    private sealed class TranscriptRunner
    {
        private TestNetwork? _net;

        private TestNetwork Net => _net ?? throw new InvalidOperationException("transcript must start with 'cluster'");

        public string Run(string script)
        {
            var output = new StringBuilder();
            foreach (var line in script.Split('\n'))
            {
                if (line.StartsWith('#'))
                {
                    output.Append(line).Append('\n');
                }
                else if (line.StartsWith("> ", StringComparison.Ordinal))
                {
                    output.Append(line).Append('\n');
                    foreach (var result in Execute(line[2..].Split(' ', StringSplitOptions.RemoveEmptyEntries)))
                    {
                        output.Append(result).Append('\n');
                    }

                    output.Append('\n');
                }

                // Anything else is the expected output of the previous command: regenerated, not read.
            }

            return output.ToString().TrimEnd('\n') + "\n";
        }

        private IEnumerable<string> Execute(string[] words)
        {
            ulong Id(int i) => ulong.Parse(words[i], System.Globalization.CultureInfo.InvariantCulture);
            switch (words[0])
            {
                case "cluster":
                    var preVote = !words.Contains("prevote=false");
                    var checkQuorum = !words.Contains("checkquorum=false");
                    _net = TestNetwork.Create(int.Parse(words[1], System.Globalization.CultureInfo.InvariantCulture),
                        c => c with { PreVote = preVote, CheckQuorum = checkQuorum });
                    return Status();
                case "campaign":
                    Net.Campaign(Id(1));
                    return Status();
                case "tick":
                    Net.TickAll(int.Parse(words[1], System.Globalization.CultureInfo.InvariantCulture));
                    return Status();
                case "propose":
                    return [Net.Propose(Id(1), words[2]).ToString()];
                case "crash":
                    Net.Crash(Id(1));
                    return [];
                case "restart":
                    Net.Restart(Id(1));
                    Net.Stabilize();
                    return [];
                case "isolate":
                    Net.Isolate(words.Skip(1).Select(ulong.Parse).ToArray());
                    return [];
                case "heal":
                    Net.Heal();
                    return [];
                case "transfer":
                    Net[Id(1)].TransferLeadership(Id(2));
                    Net.Stabilize();
                    return Status();
                case "read":
                    Net[Id(1)].ReadIndex(Encoding.UTF8.GetBytes(words[2]));
                    Net.Stabilize();
                    return Net.Peers[Id(1)].ReadStates.Select(r => $"read {Encoding.UTF8.GetString(r.RequestContext.Span)} at {r.Index}");
                case "conf":
                    return [Conf(Id(1), words[2], Id(3))];
                case "applied":
                    return Net.Peers.Where(p => !Net.Down.Contains(p.Key))
                        .Select(p => $"{p.Key}: [{string.Join(",", p.Value.Commands)}]");
                case "status":
                    return Status();
                default:
                    throw new InvalidOperationException($"unknown transcript command '{words[0]}'");
            }
        }

        private string Conf(ulong on, string kind, ulong target)
        {
            var type = kind switch
            {
                "add-learner" => ConfChangeType.AddLearner,
                "add-voter" => ConfChangeType.AddVoter,
                "promote" => ConfChangeType.PromoteLearner,
                "remove" => ConfChangeType.RemoveNode,
                _ => throw new InvalidOperationException($"unknown conf change '{kind}'"),
            };
            if (type is ConfChangeType.AddLearner or ConfChangeType.AddVoter && !Net.Peers.ContainsKey(target))
            {
                Net.AddJoiner(target);
            }

            var result = Net[on].ProposeConfChange(new ConfChange(type, target, default));
            Net.Stabilize();
            return result.ToString();
        }

        private IEnumerable<string> Status() =>
            Net.Peers.Select(p =>
            {
                if (Net.Down.Contains(p.Key))
                {
                    return $"{p.Key}: down";
                }

                var s = p.Value.Node.Status;
                return $"{p.Key}: {s.Role} term={s.Term} lead={s.Leader} commit={s.Commit} applied={s.Applied} last={s.LastIndex} {s.ConfState}";
            });
    }
}
