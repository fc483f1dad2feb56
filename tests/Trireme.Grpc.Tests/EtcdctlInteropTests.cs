// Proves the server side against real grpc-go: a tiny fake etcd (Maintenance/Status, KV/Range and a
// Watch that emits one event) served by Trireme.Grpc on a free loopback port, driven by the real
// etcdctl 3.4 binary (ETCDCTL_API=3). Skips when etcdctl is not installed.
using System.Net;
using System.Text.Json;
using Google.Protobuf;
using Trireme.Grpc.Server;
using Trireme.Store.Api;
using Trireme.Store.Api.Etcdserverpb;
using Trireme.Store.Api.Mvccpb;
using Trireme.Testing;

namespace Trireme.Grpc.Tests;

public sealed class EtcdctlInteropTests : IAsyncLifetime
{
    private const ulong ClusterId = 0x1234;
    private const ulong MemberId = 0xABCD;
    private GrpcHost? _host;
    private readonly TaskCompletionSource _watchEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public async ValueTask InitializeAsync()
    {
        if (EtcdCluster.EtcdctlPath is null)
        {
            return;
        }

        var server = new GrpcServer(new GrpcServerOptions { MaxReceiveMessageBytes = EtcdLimits.MaxReceiveMessageBytes });
        server.MapUnary<StatusRequest, StatusResponse>(EtcdMethods.Status, (_, _) => ValueTask.FromResult(new StatusResponse
        {
            Header = Header(),
            Version = "3.4.23",
            DbSize = 20480,
            Leader = MemberId,
            RaftIndex = 9,
            RaftTerm = 2,
            RaftAppliedIndex = 9,
            DbSizeInUse = 16384,
        }));
        server.MapUnary<RangeRequest, RangeResponse>(EtcdMethods.KVRange, (request, _) =>
        {
            var response = new RangeResponse { Header = Header() };
            if (request.Key.ToStringUtf8() == "foo")
            {
                response.Kvs.Add(new KeyValue { Key = request.Key, Value = ByteString.CopyFromUtf8("bar"), CreateRevision = 2, ModRevision = 7, Version = 3 });
                response.Count = 1;
            }

            return ValueTask.FromResult(response);
        });
        server.MapDuplex<WatchRequest, WatchResponse>(EtcdMethods.Watch, async (requests, responses, call) =>
        {
            try
            {
                while (await requests.ReadAsync() is { } request)
                {
                    if (request.CreateRequest is { } create)
                    {
                        await responses.WriteAsync(new WatchResponse { Header = Header(), WatchId = 0, Created = true });
                        var response = new WatchResponse { Header = Header(), WatchId = 0 };
                        response.Events.Add(new Event { Type = Event.Types.EventType.Put, Kv = new KeyValue { Key = create.Key, Value = ByteString.CopyFromUtf8("bar"), ModRevision = 8, CreateRevision = 2, Version = 4 } });
                        await responses.WriteAsync(response);
                    }
                }
            }
            finally
            {
                _watchEnded.TrySetResult();
            }
        });
        _host = await GrpcHost.StartAsync(server, new GrpcHostOptions { Endpoints = [new IPEndPoint(IPAddress.Loopback, 0)] });
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public async Task Etcdctl_endpoint_status_reads_the_status_served_by_trireme_grpc()
    {
        SkipWithoutEtcdctl();
        var (exitCode, stdout, stderr) = await EtcdCluster.RunEtcdctlAsync(_host!.Endpoints, ["endpoint", "status", "-w", "json"]);
        Assert.True(exitCode == 0, stderr);
        using var json = JsonDocument.Parse(stdout);
        JsonElement status = json.RootElement[0].GetProperty("Status");
        Assert.Equal("3.4.23", status.GetProperty("version").GetString());
        Assert.Equal(MemberId, status.GetProperty("leader").GetUInt64());
        Assert.Equal(20480, status.GetProperty("dbSize").GetInt64());
        Assert.Equal(ClusterId, status.GetProperty("header").GetProperty("cluster_id").GetUInt64());
        Assert.Equal(42, status.GetProperty("header").GetProperty("revision").GetInt64());
    }

    [Fact]
    public async Task Etcdctl_get_prints_the_key_and_value()
    {
        SkipWithoutEtcdctl();
        var (exitCode, stdout, stderr) = await EtcdCluster.RunEtcdctlAsync(_host!.Endpoints, ["get", "foo"]);
        Assert.True(exitCode == 0, stderr);
        Assert.Equal("foo\nbar\n", stdout);

        (exitCode, stdout, stderr) = await EtcdCluster.RunEtcdctlAsync(_host!.Endpoints, ["get", "missing", "-w", "json"]);
        Assert.True(exitCode == 0, stderr);
        Assert.Contains("\"revision\":42", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Etcdctl_watch_runs_over_the_bidi_stream_and_the_handler_ends_when_it_is_killed()
    {
        SkipWithoutEtcdctl();
        string list = _host!.Endpoints[0].ToString().TrimEnd('/');
        using var watch = ChildProcess.Start(EtcdCluster.EtcdctlPath!, ["--endpoints", list, "watch", "foo"], new Dictionary<string, string> { ["ETCDCTL_API"] = "3" });
        await Poll.UntilAsync(() => watch.OutputTail.Contains("PUT\nfoo\nbar", StringComparison.Ordinal), TimeSpan.FromSeconds(60), "etcdctl watch output");
        watch.Kill();
        await _watchEnded.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static ResponseHeader Header() => new() { ClusterId = ClusterId, MemberId = MemberId, Revision = 42, RaftTerm = 2 };

    private static void SkipWithoutEtcdctl()
    {
        if (EtcdCluster.EtcdctlPath is null)
        {
            Assert.Skip("etcdctl (Debian etcd-client) is not installed");
        }
    }
}
