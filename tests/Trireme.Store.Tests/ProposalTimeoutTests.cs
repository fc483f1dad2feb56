// Proves what a write gets when it cannot commit: a 3-member cluster (in this process) loses both
// followers, and a put to the leader neither hangs nor succeeds. It fails with etcd's timeout error
// (UNAVAILABLE, "request timed out") once the member's request timeout has passed, and a put whose
// client deadline is shorter ends with DEADLINE_EXCEEDED at that deadline instead. Both are answered by
// the member's single expiry sweep and the call's cancellation, not by a timer per call. Bounds are
// generous (no timing assertion beyond "well before the next one would fire").
using System.Diagnostics;
using System.Net;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Trireme.Grpc;
using Trireme.Grpc.Client;
using Trireme.Store.Api;
using Trireme.Testing;
using Pb = Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Tests;

public sealed class ProposalTimeoutTests
{
    [Fact]
    public async Task A_put_that_cannot_commit_fails_with_etcds_timeout_and_a_shorter_client_deadline_wins()
    {
        using var dir = new TempDir();
        var clientPorts = Enumerable.Range(0, 3).Select(_ => FreePort.Get(IPAddress.Loopback)).ToArray();
        var peerPorts = Enumerable.Range(0, 3).Select(_ => FreePort.Get(IPAddress.Loopback)).ToArray();
        var cluster = string.Join(',', Enumerable.Range(0, 3).Select(i => $"p{i}=http://127.0.0.1:{peerPorts[i]}"));
        var token = "timeout-" + Guid.NewGuid().ToString("N")[..8];
        var servers = new List<StoreServer>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var (options, listen, tls) = StoreProcess.Build(new StoreFlags
                {
                    Name = $"p{i}",
                    DataDir = dir.Sub($"p{i}"),
                    ListenClientUrls = $"http://127.0.0.1:{clientPorts[i]}",
                    ListenPeerUrls = $"http://127.0.0.1:{peerPorts[i]}",
                    InitialCluster = cluster,
                    InitialClusterToken = token,
                    // The leader notices it lost its quorum only after an election timeout (check quorum):
                    // long enough here that both puts below are proposed, and time out, while it leads.
                    ElectionTimeout = 8000,
                });
                servers.Add(await StoreServer.StartAsync(options with { RequestTimeout = TimeSpan.FromSeconds(2) }, listen, tls, NullLoggerFactory.Instance, TestContext.Current.CancellationToken));
            }

            await Poll.UntilAsync(() => servers.Any(s => s.Member.IsLeader), TimeSpan.FromSeconds(90), "a leader");
            var leader = servers.Single(s => s.Member.IsLeader);
            var url = new Uri($"http://127.0.0.1:{clientPorts[servers.IndexOf(leader)]}");
            using var channel = new GrpcChannel(url);
            var key = ByteString.CopyFromUtf8("timeout/k");
            await channel.UnaryAsync(EtcdMethods.KVPut, new Pb.PutRequest { Key = key, Value = ByteString.CopyFromUtf8("before") }, Pb.PutResponse.Parser);

            foreach (var follower in servers.Where(s => s != leader).ToList())
            {
                await follower.DisposeAsync();
                servers.Remove(follower);
            }

            // Both proposed at once: one with the member's own timeout (2 s here; etcd's default is 7 s),
            // one whose client deadline is shorter and so ends the call first, as a deadline.
            var clock = Stopwatch.StartNew();
            var lost = channel.UnaryAsync(EtcdMethods.KVPut, new Pb.PutRequest { Key = key, Value = ByteString.CopyFromUtf8("lost") },
                Pb.PutResponse.Parser, new CallOptions(Timeout: TimeSpan.FromSeconds(30)));
            var late = channel.UnaryAsync(EtcdMethods.KVPut, new Pb.PutRequest { Key = key, Value = ByteString.CopyFromUtf8("late") },
                Pb.PutResponse.Parser, new CallOptions(Timeout: TimeSpan.FromMilliseconds(300)));

            var deadline = await Assert.ThrowsAsync<GrpcException>(() => late);
            Assert.Equal(StatusCode.DeadlineExceeded, deadline.StatusCode);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1.9), $"deadline answered after {clock.Elapsed}");

            var timedOut = await Assert.ThrowsAsync<GrpcException>(() => lost);
            Assert.Equal(StatusCode.Unavailable, timedOut.StatusCode);
            Assert.Contains("request timed out", timedOut.Message, StringComparison.Ordinal);
            Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(1.9) && clock.Elapsed < TimeSpan.FromSeconds(25), $"timed out after {clock.Elapsed}");
            Assert.True(leader.Member.IsLeader, "the leader stepped down before the timeouts: the test proved nothing");
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }
}
