using System.CommandLine;
using System.Reflection;

namespace Trireme.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        ParentWatch.StartIfAsked();
        return BuildRoot().Parse(args).Invoke();
    }

    /// <summary>
    /// The command tree. Every static class in <c>Trireme.Cli.Commands</c> with a
    /// <c>public static Command Create()</c> is a command, so a role adds its command by adding one
    /// file under Commands/ and touches nothing shared.
    /// </summary>
    public static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "Trireme: a highly-available, Kubernetes-compatible control plane in one executable.");
        foreach (var command in DiscoverCommands().OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            root.Subcommands.Add(command);
        }

        return root;
    }

    private static IEnumerable<Command> DiscoverCommands()
    {
        foreach (var type in typeof(Program).Assembly.GetTypes())
        {
            if (type.Namespace != "Trireme.Cli.Commands" || !type.IsAbstract || !type.IsSealed)
            {
                continue;
            }

            var create = type.GetMethod("Create", BindingFlags.Public | BindingFlags.Static, Type.EmptyTypes);
            if (create?.ReturnType == typeof(Command))
            {
                yield return (Command)create.Invoke(null, null)!;
            }
        }
    }
}
