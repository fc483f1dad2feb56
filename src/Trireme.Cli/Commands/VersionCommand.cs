using System.CommandLine;
using System.Reflection;

namespace Trireme.Cli.Commands;

public static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "Print the version of this trireme binary.");
        command.SetAction(parse =>
        {
            var version = typeof(VersionCommand).Assembly
                .GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
            parse.InvocationConfiguration.Output.WriteLine($"trireme {version}");
            return 0;
        });
        return command;
    }
}
