// Proves the executable's front door: `trireme --help` lists every command a user can run,
// by parsing the real command tree and capturing what it prints.
using System.CommandLine;
using Trireme.Cli;

namespace Trireme.Cli.Tests;

public sealed class HelpTests
{
    [Fact]
    public void Help_lists_every_registered_command()
    {
        var root = Program.BuildRoot();
        var output = new StringWriter();
        var exit = root.Parse(["--help"]).Invoke(new InvocationConfiguration { Output = output });

        Assert.Equal(0, exit);
        var text = output.ToString();
        Assert.NotEmpty(root.Subcommands);
        foreach (var command in root.Subcommands)
        {
            Assert.Contains(command.Name, text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Unknown_command_is_an_error_not_a_silent_success()
    {
        var root = Program.BuildRoot();
        var error = new StringWriter();
        var exit = root.Parse(["no-such-command"]).Invoke(
            new InvocationConfiguration { Output = new StringWriter(), Error = error });

        Assert.NotEqual(0, exit);
    }
}
