using System.CommandLine;
using Trireme.Pki;

namespace Trireme.Cli.Commands;

/// <summary>`trireme pki init`: the cluster CA, the API server's serving certificate and admin.conf.</summary>
public static class PkiCommand
{
    public static Command Create()
    {
        var command = new Command("pki", "Cluster certificates and kubeconfigs.");
        var init = new Command("init", "Write ca.crt/key, apiserver.crt/key and admin.conf (system:masters) into a directory.");
        var dir = new Option<string>("--dir") { Description = "Directory to write into", Required = true };
        var san = new Option<string[]>("--san")
        {
            Description = "Extra subject alternative name (DNS name or IP) for the serving certificate; repeatable",
            AllowMultipleArgumentsPerToken = true,
        };
        var server = new Option<string>("--server")
        {
            Description = "API server URL written into admin.conf",
            DefaultValueFactory = _ => "https://127.0.0.1:6443",
        };
        init.Options.Add(dir);
        init.Options.Add(san);
        init.Options.Add(server);
        init.SetAction(parse =>
        {
            var target = parse.GetValue(dir)!;
            ClusterPki.Init(target, parse.GetValue(san) ?? [], parse.GetValue(server)!, DateTimeOffset.UtcNow);
            parse.InvocationConfiguration.Output.WriteLine($"wrote ca.crt, apiserver.crt, admin.conf into {Path.GetFullPath(target)}");
            return 0;
        });
        command.Subcommands.Add(init);
        return command;
    }
}
