using System.CommandLine;
using Trireme.Cli.Commands;

namespace Trireme.Cli;

public static class Program
{
    public static int Main(string[] args) => BuildRoot().Parse(args).Invoke();

    /// <summary>The command tree. Each role adds its command here, one file per command.</summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "Trireme: a highly-available, Kubernetes-compatible control plane in one executable.");
        root.Subcommands.Add(VersionCommand.Create());
        return root;
    }
}
