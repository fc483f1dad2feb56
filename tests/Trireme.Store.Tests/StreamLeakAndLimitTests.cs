// Proves a member keeps no state for clients that vanish and answers oversized requests as etcd does.
// An in-process single-member store (StoreServer, so its StreamCounters and watch hub can be read) serves:
// real etcdctl 3.4 `watch` and `lease keep-alive` processes that are kill -9'd mid-stream (the kernel
// closes their sockets; no gRPC goodbye), and the project's own client abandoning streams (RST_STREAM,
// or the whole connection dropped) with many watchers on them, repeated in a bounded loop. After each,
// the open Watch and LeaseKeepAlive stream counts and the watch hub's watcher count return to their
// baseline. Oversized requests: a put over etcd's 1.5 MiB request limit gets InvalidArgument
// "etcdserver: request is too large"; a message over the 2 MiB gRPC receive limit gets
// RESOURCE_EXHAUSTED; the member serves normally afterwards.
using System.Net;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Trireme.Grpc;
using Trireme.Grpc.Client;
using Trireme.Store.Api;
using Trireme.Testing;
using Pb = Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Tests;

public sealed class StreamLeakAndLimitTests
{
    private static Task<int> HubWatchersAsync(StoreServer server) =>
        server.Member.ReadAsync(true, store => store.Watches.Count, CancellationToken.None);

    private static async Task AssertBackToBaselineAsync(StoreServer server, string after)
    {
        var last = "";
        try
        {
            await Poll.UntilAsync(async () =>
            {
                var watchers = await HubWatchersAsync(server);
                last = $"watch streams {server.Streams.WatchStreams}, keep-alive streams {server.Streams.KeepAliveStreams}, watchers {watchers}";
                return server.Streams.WatchStreams == 0 && server.Streams.KeepAliveStreams == 0 && watchers == 0;
            }, TimeSpan.FromSeconds(60), $"counts back to baseline after {after}");
        }
        catch (TimeoutException e)
        {
            Assert.Fail($"{e.Message}; still open: {last}");
        }
    }

    private static ByteString Bytes(string s) => ByteString.CopyFromUtf8(s);

    [Fact]
    public async Task Killed_etcdctl_watch_and_keep_alive_clients_leave_no_stream_or_watcher_behind()
    {
        if (EtcdCluster.EtcdctlPath is null)
        {
            Assert.Skip("etcdctl is not installed");
        }

        using var dir = new TempDir();
        var (server, url) = await SingleMember.StartAsync(dir);
        await using var _ = server;
        await AssertBackToBaselineAsync(server, "start");
        using var channel = new GrpcChannel(url);
        var lease = await channel.UnaryAsync(EtcdMethods.LeaseGrant, new Pb.LeaseGrantRequest { TTL = 60 }, Pb.LeaseGrantResponse.Parser);
        var env = new Dictionary<string, string> { ["ETCDCTL_API"] = "3" };
        var endpoint = url.ToString().TrimEnd('/');
        string[][] commands =
        [
            ["watch", "/leak/", "--prefix"],
            ["watch", "/leak/a"],
            ["watch", "/leak/", "--prefix", "--rev", "1", "--prev-kv"],
            ["lease", "keep-alive", lease.ID.ToString("x")],
            ["lease", "keep-alive", lease.ID.ToString("x")],
        ];
        var clients = commands.Select(c => ChildProcess.Start(EtcdCluster.EtcdctlPath!, ["--endpoints", endpoint, .. c], env)).ToList();
        try
        {
            await Poll.UntilAsync(async () => server.Streams.WatchStreams == 3 && server.Streams.KeepAliveStreams == 2 &&
                await HubWatchersAsync(server) == 3, TimeSpan.FromSeconds(60), "etcdctl's streams to open");
            await channel.UnaryAsync(EtcdMethods.KVPut, new Pb.PutRequest { Key = Bytes("/leak/a"), Value = Bytes("1") }, Pb.PutResponse.Parser);
            await Poll.UntilAsync(() => clients.Take(3).All(c => c.OutputTail.Contains("/leak/a", StringComparison.Ordinal)) &&
                clients.Skip(3).All(c => c.OutputTail.Contains("keepalived", StringComparison.Ordinal)),
                TimeSpan.FromSeconds(60), "events and keep-alives to flow (the streams are mid-flight)");
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Dispose(); // SIGKILL by PID
            }
        }

        await AssertBackToBaselineAsync(server, "kill -9 of etcdctl");
    }

    [Fact]
    public async Task Abandoned_streams_of_a_client_leave_no_stream_or_watcher_behind()
    {
        using var dir = new TempDir();
        var (server, url) = await SingleMember.StartAsync(dir);
        await using var _ = server;
        using (var setup = new GrpcChannel(url))
        {
            var lease = await setup.UnaryAsync(EtcdMethods.LeaseGrant, new Pb.LeaseGrantRequest { TTL = 60 }, Pb.LeaseGrantResponse.Parser);
            for (var round = 0; round < 5; round++)
            {
                // Odd rounds drop the whole connection (channel disposed); even ones reset only the streams.
                var channel = round % 2 == 1 ? new GrpcChannel(url) : setup;
                await using (var watch = channel.Duplex<Pb.WatchRequest, Pb.WatchResponse>(EtcdMethods.Watch, Pb.WatchResponse.Parser))
                await using (var keepAlive = channel.Duplex<Pb.LeaseKeepAliveRequest, Pb.LeaseKeepAliveResponse>(EtcdMethods.LeaseKeepAlive, Pb.LeaseKeepAliveResponse.Parser))
                {
                    for (var w = 0; w < 20; w++)
                    {
                        await watch.WriteAsync(new Pb.WatchRequest
                        {
                            CreateRequest = new Pb.WatchCreateRequest { Key = Bytes($"/abandon/{w}"), StartRevision = 1, PrevKv = true },
                        }, TestContext.Current.CancellationToken);
                    }

                    // Events of earlier rounds' puts (the watches start at revision 1) may come between
                    // the "created" answers, as in etcd: read until every watcher is confirmed.
                    for (var created = 0; created < 20;)
                    {
                        var response = await watch.ReadAsync(TestContext.Current.CancellationToken);
                        Assert.NotNull(response);
                        Assert.False(response.Canceled, response.ToString());
                        created += response.Created ? 1 : 0;
                    }

                    await keepAlive.WriteAsync(new Pb.LeaseKeepAliveRequest { ID = lease.ID }, TestContext.Current.CancellationToken);
                    Assert.Equal(60, (await keepAlive.ReadAsync(TestContext.Current.CancellationToken))!.TTL);
                    Assert.Equal(20, await HubWatchersAsync(server));
                    Assert.Equal(1, server.Streams.WatchStreams);
                    Assert.Equal(1, server.Streams.KeepAliveStreams);
                    await setup.UnaryAsync(EtcdMethods.KVPut, new Pb.PutRequest { Key = Bytes("/abandon/0"), Value = Bytes($"{round}") }, Pb.PutResponse.Parser);
                    if (round % 2 == 1)
                    {
                        channel.Dispose(); // the connection goes away under the open streams
                    }
                } // disposing an unfinished call resets its stream

                await AssertBackToBaselineAsync(server, $"round {round}");
            }
        }
    }

    [Fact]
    public async Task Oversized_requests_get_etcds_errors_and_the_member_keeps_serving()
    {
        using var dir = new TempDir();
        var (server, url) = await SingleMember.StartAsync(dir);
        await using var _ = server;
        using var channel = new GrpcChannel(url, new GrpcChannelOptions { MaxSendMessageBytes = 8 * 1024 * 1024 });

        // Over etcd's --max-request-bytes (1.5 MiB) but under the gRPC receive limit: the store refuses it.
        var tooLarge = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(EtcdMethods.KVPut,
            new Pb.PutRequest { Key = Bytes("/big"), Value = ByteString.CopyFrom(new byte[EtcdLimits.MaxRequestBytes + 1024]) },
            Pb.PutResponse.Parser));
        Assert.Equal(StatusCode.InvalidArgument, tooLarge.StatusCode);
        Assert.Equal("etcdserver: request is too large", tooLarge.Message);

        // A txn whose ops together pass the limit is one request, refused the same way.
        var txn = new Pb.TxnRequest();
        for (var i = 0; i < 4; i++)
        {
            txn.Success.Add(new Pb.RequestOp { RequestPut = new Pb.PutRequest { Key = Bytes($"/big/{i}"), Value = ByteString.CopyFrom(new byte[450 * 1024]) } });
        }

        var txnTooLarge = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(EtcdMethods.KVTxn, txn, Pb.TxnResponse.Parser));
        Assert.Equal(StatusCode.InvalidArgument, txnTooLarge.StatusCode);
        Assert.Equal("etcdserver: request is too large", txnTooLarge.Message);

        // Over the gRPC receive limit (1.5 MiB + 512 KiB): rejected by the framing layer before buffering.
        var exhausted = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync(EtcdMethods.KVPut,
            new Pb.PutRequest { Key = Bytes("/bigger"), Value = ByteString.CopyFrom(new byte[3 * 1024 * 1024]) },
            Pb.PutResponse.Parser));
        Assert.Equal(StatusCode.ResourceExhausted, exhausted.StatusCode);
        Assert.Contains("larger than max", exhausted.Message, StringComparison.Ordinal);

        // Nothing was written, and the member still serves.
        var range = await channel.UnaryAsync(EtcdMethods.KVRange, new Pb.RangeRequest { Key = Bytes("/big"), RangeEnd = Bytes("/bih") }, Pb.RangeResponse.Parser);
        Assert.Equal(0, range.Count);
        await channel.UnaryAsync(EtcdMethods.KVPut, new Pb.PutRequest { Key = Bytes("/small"), Value = Bytes("ok") }, Pb.PutResponse.Parser);
    }
}
