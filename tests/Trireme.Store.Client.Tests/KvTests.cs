// Proves the client's KV, Txn, Lease, Cluster and Maintenance calls against a real etcd 3.4.23
// member started by the test (free port, temp data dir, killed by PID): values, metadata and error
// codes/messages must be exactly what etcd returns.
using Google.Protobuf;
using Trireme.Grpc;
using Trireme.Store.Api;
using Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Client.Tests;

public sealed class KvTests(SingleEtcdFixture fixture) : IClassFixture<SingleEtcdFixture>
{
    private EtcdClient Client() => new(fixture.Require().ClientUrls.ToArray());

    [Fact]
    public async Task Put_then_get_returns_value_and_revisions()
    {
        using var client = Client();
        var put = await client.PutAsync("/kv/put-get", "v1");
        var kv = await client.GetAsync("/kv/put-get");
        Assert.NotNull(kv);
        Assert.Equal("v1", kv.Value.ToStringUtf8());
        Assert.Equal(put.Header.Revision, kv.ModRevision);
        Assert.Equal(put.Header.Revision, kv.CreateRevision);
        Assert.Equal(1, kv.Version);

        await client.PutAsync("/kv/put-get", "v2");
        kv = await client.GetAsync("/kv/put-get");
        Assert.Equal(2, kv!.Version);
        Assert.Null(await client.GetAsync("/kv/absent"));
    }

    [Fact]
    public async Task Prefix_range_uses_the_incremented_prefix_end()
    {
        using var client = Client();
        foreach (string key in new[] { "/kv/p/a", "/kv/p/b", "/kv/p/c", "/kv/q" })
        {
            await client.PutAsync(key, key);
        }

        var range = await client.GetPrefixAsync("/kv/p/");
        Assert.Equal(["/kv/p/a", "/kv/p/b", "/kv/p/c"], range.Kvs.Select(k => k.Key.ToStringUtf8()));
        Assert.Equal(3, range.Count);

        var limited = await client.GetPrefixAsync("/kv/p/", limit: 2);
        Assert.Equal(2, limited.Kvs.Count);
        Assert.True(limited.More);

        var deleted = await client.DeletePrefixAsync("/kv/p/");
        Assert.Equal(3, deleted.Deleted);
        Assert.Empty((await client.GetPrefixAsync("/kv/p/")).Kvs);
    }

    [Fact]
    public async Task A_write_moves_past_an_endpoint_that_refuses_connections()
    {
        var live = fixture.Require().ClientUrls[0];
        var dead = new Uri($"http://127.0.0.1:{Trireme.Testing.FreePort.Get(System.Net.IPAddress.Loopback)}");
        using var client = new EtcdClient(dead, live);
        await client.PutAsync("/kv/failover", "v");
        Assert.Equal(live, client.CurrentEndpoint);
        Assert.Equal("v", (await client.GetAsync("/kv/failover"))!.Value.ToStringUtf8());
    }

    [Fact]
    public void Prefix_end_follows_etcd()
    {
        Assert.Equal("/a0", EtcdKeys.PrefixEnd("/a/").ToStringUtf8());
        Assert.Equal(new byte[] { 2 }, EtcdKeys.PrefixEnd(ByteString.CopyFrom(1, 0xFF)).ToByteArray());
        Assert.Equal(new byte[] { 0 }, EtcdKeys.PrefixEnd(ByteString.CopyFrom(0xFF, 0xFF)).ToByteArray());
        Assert.Equal(new byte[] { 0 }, EtcdKeys.PrefixEnd(ByteString.Empty).ToByteArray());
    }

    [Fact]
    public async Task Txn_create_if_absent_then_compare_and_swap_on_mod_revision()
    {
        using var client = Client();
        const string key = "/kv/txn";
        var created = await client.Txn()
            .If(EtcdCompare.CreateRevision(key, Compare.Types.CompareResult.Equal, 0))
            .Then(EtcdOp.Put(key, "one"))
            .Else(EtcdOp.Get(key))
            .CommitAsync();
        Assert.True(created.Succeeded);
        long modRevision = created.Header.Revision;

        var again = await client.Txn()
            .If(EtcdCompare.CreateRevision(key, Compare.Types.CompareResult.Equal, 0))
            .Then(EtcdOp.Put(key, "other"))
            .Else(EtcdOp.Get(key))
            .CommitAsync();
        Assert.False(again.Succeeded);
        Assert.Equal("one", again.Responses[0].ResponseRange.Kvs[0].Value.ToStringUtf8());

        var swap = await client.Txn()
            .If(EtcdCompare.ModRevision(key, Compare.Types.CompareResult.Equal, modRevision))
            .Then(EtcdOp.Put(key, "two", prevKv: true))
            .CommitAsync();
        Assert.True(swap.Succeeded);
        Assert.Equal("one", swap.Responses[0].ResponsePut.PrevKv.Value.ToStringUtf8());
    }

    [Fact]
    public async Task Historical_read_after_compaction_is_out_of_range_with_etcds_message()
    {
        using var client = Client();
        var first = await client.PutAsync("/kv/compact", "a");
        var second = await client.PutAsync("/kv/compact", "b");
        var old = await client.RangeAsync(new RangeRequest { Key = EtcdKeys.Key("/kv/compact"), Revision = first.Header.Revision });
        Assert.Equal("a", old.Kvs[0].Value.ToStringUtf8());

        await client.CompactAsync(second.Header.Revision);
        var error = await Assert.ThrowsAsync<GrpcException>(() =>
            client.RangeAsync(new RangeRequest { Key = EtcdKeys.Key("/kv/compact"), Revision = first.Header.Revision }));
        Assert.True(EtcdErrors.Compacted.Matches(error), error.ToString());
        Assert.Equal(StatusCode.OutOfRange, error.StatusCode);
        Assert.Equal("etcdserver: mvcc: required revision has been compacted", error.Message);
    }

    [Fact]
    public async Task Future_revision_and_empty_key_get_etcds_errors()
    {
        using var client = Client();
        var error = await Assert.ThrowsAsync<GrpcException>(() => client.RangeAsync(new RangeRequest { Key = EtcdKeys.Key("x"), Revision = 1_000_000_000 }));
        Assert.True(EtcdErrors.FutureRevision.Matches(error), error.ToString());
        error = await Assert.ThrowsAsync<GrpcException>(() => client.PutAsync("", "v"));
        Assert.True(EtcdErrors.EmptyKey.Matches(error), error.ToString());
    }

    [Fact]
    public async Task Request_over_etcds_limit_is_rejected_by_the_server()
    {
        using var client = Client();
        var value = ByteString.CopyFrom(new byte[EtcdLimits.MaxRequestBytes + 1024]);
        var error = await Assert.ThrowsAsync<GrpcException>(() => client.PutAsync(EtcdKeys.Key("/kv/big"), value));
        Assert.True(EtcdErrors.RequestTooLarge.Matches(error), error.ToString());
    }

    [Fact]
    public async Task Lease_grant_attach_time_to_live_and_revoke_deletes_keys()
    {
        using var client = Client();
        var lease = await client.LeaseGrantAsync(60);
        await client.PutAsync("/kv/leased", "v", lease.ID);
        var ttl = await client.LeaseTimeToLiveAsync(lease.ID, keys: true);
        Assert.Equal(60, ttl.GrantedTTL);
        Assert.InRange(ttl.TTL, 1, 60);
        Assert.Equal("/kv/leased", ttl.Keys.Single().ToStringUtf8());
        Assert.Contains((await client.LeaseLeasesAsync()).Leases, l => l.ID == lease.ID);
        Assert.Equal(lease.ID, (await client.GetAsync("/kv/leased"))!.Lease);

        await client.LeaseRevokeAsync(lease.ID);
        Assert.Null(await client.GetAsync("/kv/leased"));
        Assert.Equal(-1, (await client.LeaseTimeToLiveAsync(lease.ID)).TTL);
    }

    [Fact]
    public async Task Unknown_lease_is_not_found_with_etcds_message()
    {
        using var client = Client();
        var error = await Assert.ThrowsAsync<GrpcException>(() => client.LeaseRevokeAsync(0x7777));
        Assert.True(EtcdErrors.LeaseNotFound.Matches(error), error.ToString());
        error = await Assert.ThrowsAsync<GrpcException>(() => client.PutAsync("/kv/badlease", "v", lease: 0x7777));
        Assert.True(EtcdErrors.LeaseNotFound.Matches(error), error.ToString());
        error = await Assert.ThrowsAsync<GrpcException>(() => client.LeaseKeepAliveOnceAsync(0x7777));
        Assert.True(EtcdErrors.LeaseNotFound.Matches(error), error.ToString());
    }

    [Fact]
    public async Task Keep_alive_holds_a_short_lease_past_its_ttl_and_expiry_follows_when_it_stops()
    {
        using var client = Client();
        var lease = await client.LeaseGrantAsync(2);
        await client.PutAsync("/kv/kept", "v", lease.ID);
        var keepAlive = client.KeepAlive(lease.ID, 2);
        // Hold it for several TTLs (observed through acknowledged renewals, not a sleep).
        await Trireme.Testing.Poll.UntilAsync(() => keepAlive.Renewals >= 8, TimeSpan.FromSeconds(60), "8 renewals");
        Assert.NotNull(await client.GetAsync("/kv/kept"));
        Assert.False(keepAlive.Lost.IsCompleted);

        await keepAlive.DisposeAsync();
        await Trireme.Testing.Poll.UntilAsync(async () => await client.GetAsync("/kv/kept") is null, TimeSpan.FromSeconds(60), "lease expiry");
    }

    [Fact]
    public async Task Keep_alive_reports_a_revoked_lease_as_lost()
    {
        using var client = Client();
        var lease = await client.LeaseGrantAsync(30);
        await using var keepAlive = client.KeepAlive(lease.ID, 30);
        await Trireme.Testing.Poll.UntilAsync(() => keepAlive.Renewals >= 1, TimeSpan.FromSeconds(30), "first renewal");
        await client.LeaseRevokeAsync(lease.ID);
        // The loop renews every TTL/3 = 10 s; the next renewal learns the lease is gone.
        await keepAlive.Lost.WaitAsync(TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task Member_list_status_alarm_and_hash()
    {
        var cluster = fixture.Require();
        using var client = Client();
        var members = await client.MemberListAsync();
        var member = Assert.Single(members.Members);
        Assert.Equal("m0", member.Name);
        Assert.Equal(cluster.Members[0].ClientUrl.ToString().TrimEnd('/'), member.ClientURLs.Single());

        var status = await client.StatusAsync(cluster.ClientUrls[0]);
        Assert.Equal("3.4.23", status.Version);
        Assert.Equal(member.ID, status.Leader);
        Assert.Equal(member.ID, status.Header.MemberId);

        Assert.Empty((await client.AlarmListAsync()).Alarms);
        var hash = await client.HashKVAsync(cluster.ClientUrls[0]);
        Assert.True(hash.Header.Revision > 0);
        await client.DefragmentAsync(cluster.ClientUrls[0]);
    }

    [Fact]
    public async Task Snapshot_streams_a_bolt_database()
    {
        using var client = Client();
        await client.PutAsync("/kv/snap", "v");
        using var file = new MemoryStream();
        long bytes = await client.SnapshotToStreamAsync(file);
        Assert.True(bytes > 16 * 1024, $"snapshot of {bytes} bytes");
        Assert.Equal(bytes, file.Length);
    }
}
