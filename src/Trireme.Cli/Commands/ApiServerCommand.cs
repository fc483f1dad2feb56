using System.CommandLine;
using System.Net;
using Microsoft.Extensions.Logging;
using Trireme.ApiServer;
using Trireme.ApiServer.Storage;

namespace Trireme.Cli.Commands;

/// <summary>`trireme apiserver`: the Kubernetes API server, with kube-apiserver's flag names.</summary>
public static class ApiServerCommand
{
    public static Command Create()
    {
        var command = new Command("apiserver", "Run the Kubernetes API server (HTTPS only) over etcd v3 (Trireme's store or a real etcd).");
        var etcdServers = new Option<string>("--etcd-servers") { Description = "Comma-separated etcd URLs (http:// or https://)", Required = true };
        var etcdCa = new Option<string?>("--etcd-cafile") { Description = "CA file verifying the etcd servers" };
        var etcdCert = new Option<string?>("--etcd-certfile") { Description = "Client certificate for etcd" };
        var etcdKey = new Option<string?>("--etcd-keyfile") { Description = "Client key for etcd" };
        var bind = new Option<string>("--bind-address") { Description = "Address to listen on", DefaultValueFactory = _ => "0.0.0.0" };
        var port = new Option<int>("--secure-port") { Description = "HTTPS port (0 picks a free port)", DefaultValueFactory = _ => 6443 };
        var cert = new Option<string>("--tls-cert-file") { Description = "Serving certificate (PEM)", Required = true };
        var key = new Option<string>("--tls-private-key-file") { Description = "Serving key (PEM)", Required = true };
        var clientCa = new Option<string>("--client-ca-file") { Description = "CA that signs client certificates", Required = true };
        var tokens = new Option<string?>("--token-auth-file") { Description = "Static bearer tokens: token,user,uid,\"group1,group2\"" };
        var advertise = new Option<string?>("--advertise-address") { Description = "Address published in the kubernetes Endpoints" };
        var serviceRange = new Option<string>("--service-cluster-ip-range") { DefaultValueFactory = _ => "10.96.0.0/12", Description = "Service ClusterIP CIDR" };
        var nodePorts = new Option<string>("--service-node-port-range") { DefaultValueFactory = _ => "30000-32767", Description = "NodePort range" };
        var inflight = new Option<int>("--max-requests-inflight") { DefaultValueFactory = _ => 400, Description = "Non-mutating requests in flight before 429" };
        var mutatingInflight = new Option<int>("--max-mutating-requests-inflight") { DefaultValueFactory = _ => 200, Description = "Mutating requests in flight before 429" };
        foreach (var o in new Option[] { etcdServers, etcdCa, etcdCert, etcdKey, bind, port, cert, key, clientCa, tokens, advertise, serviceRange, nodePorts, inflight, mutatingInflight })
        {
            command.Options.Add(o);
        }

        command.SetAction(async (parse, ct) =>
        {
            var options = new ApiServerOptions
            {
                BindAddress = IPAddress.Parse(parse.GetValue(bind)!),
                SecurePort = parse.GetValue(port),
                TlsCertFile = parse.GetValue(cert)!,
                TlsPrivateKeyFile = parse.GetValue(key)!,
                ClientCaFile = parse.GetValue(clientCa)!,
                TokenAuthFile = parse.GetValue(tokens),
                AdvertiseAddress = parse.GetValue(advertise) is { Length: > 0 } a ? IPAddress.Parse(a) : null,
                ServiceClusterIpRange = parse.GetValue(serviceRange)!,
                ServiceNodePortRange = parse.GetValue(nodePorts)!,
                MaxRequestsInflight = parse.GetValue(inflight),
                MaxMutatingRequestsInflight = parse.GetValue(mutatingInflight),
            };
            using var stop = new StopSignals(ct);
            using var logs = LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information));
            var endpoints = parse.GetValue(etcdServers)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            await using var store = EtcdKeyValueStore.Connect(endpoints, parse.GetValue(etcdCa), parse.GetValue(etcdCert), parse.GetValue(etcdKey));
            await using var host = await ApiServerHost.StartAsync(options, store, logs, TimeProvider.System, ct);
            // One parseable line for scripts and tests that start us with --secure-port 0.
            parse.InvocationConfiguration.Output.WriteLine($"apiserver listening on {host.Url}");
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }

            return 0;
        });
        return command;
    }
}
