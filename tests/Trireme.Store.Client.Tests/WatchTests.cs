// Proves the multiplexed watch against a real etcd 3.4 member: many watchers on one stream, events
// in order with prev_kv, history from a start revision, cancel, and a watch from a compacted revision
// surfacing as a distinct Compacted update.
using Trireme.Store.Api.Mvccpb;
using Trireme.Testing;

namespace Trireme.Store.Client.Tests;

public sealed class WatchTests(SingleEtcdFixture fixture) : IClassFixture<SingleEtcdFixture>
{
    private EtcdClient Client() => new(fixture.Require().ClientUrls.ToArray());

    private static async Task<List<Event>> TakeEventsAsync(EtcdWatch watch, int count)
    {
        var events = new List<Event>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (var update in watch.ReadAllAsync(timeout.Token))
        {
            Assert.Equal(WatchUpdateKind.Events, update.Kind);
            events.AddRange(update.Events);
            if (events.Count >= count)
            {
                break;
            }
        }

        return events;
    }

    [Fact]
    public async Task Many_watchers_share_one_stream_and_each_sees_only_its_keys()
    {
        using var client = Client();
        var watches = new List<EtcdWatch>();
        for (int i = 0; i < 10; i++)
        {
            watches.Add(await client.WatchAsync($"/w/many/{i}/", prefix: true));
        }

        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 10; i++)
            {
                await client.PutAsync($"/w/many/{i}/k", $"r{round}");
            }
        }

        for (int i = 0; i < 10; i++)
        {
            var events = await TakeEventsAsync(watches[i], 3);
            Assert.Equal(["r0", "r1", "r2"], events.Select(e => e.Kv.Value.ToStringUtf8()));
            Assert.All(events, e => Assert.Equal($"/w/many/{i}/k", e.Kv.Key.ToStringUtf8()));
            await watches[i].DisposeAsync();
        }
    }

    [Fact]
    public async Task Watch_from_a_past_revision_replays_history_with_prev_kv_and_deletes()
    {
        using var client = Client();
        var first = await client.PutAsync("/w/hist", "a");
        await client.PutAsync("/w/hist", "b");
        await client.DeleteAsync("/w/hist");
        await using var watch = await client.WatchAsync("/w/hist", startRevision: first.Header.Revision, prevKv: true);
        var events = await TakeEventsAsync(watch, 3);
        Assert.Equal([Event.Types.EventType.Put, Event.Types.EventType.Put, Event.Types.EventType.Delete], events.Select(e => e.Type));
        Assert.Equal("a", events[1].PrevKv.Value.ToStringUtf8());
        Assert.Equal("b", events[2].PrevKv.Value.ToStringUtf8());
        Assert.Equal(first.Header.Revision + 1, watch.NextRevision - 2);
    }

    [Fact]
    public async Task Watch_from_a_compacted_revision_is_a_distinct_compacted_result()
    {
        using var client = Client();
        var first = await client.PutAsync("/w/compacted", "a");
        var second = await client.PutAsync("/w/compacted", "b");
        await client.CompactAsync(second.Header.Revision);
        await using var watch = await client.WatchAsync("/w/compacted", startRevision: first.Header.Revision);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var update = await watch.Updates.ReadAsync(timeout.Token);
        Assert.Equal(WatchUpdateKind.Compacted, update.Kind);
        Assert.True(update.CompactRevision >= second.Header.Revision);
        // The watch has ended.
        Assert.False(await watch.Updates.WaitToReadAsync(timeout.Token));
    }

    [Fact]
    public async Task Progress_request_reaches_every_watcher_with_the_current_revision()
    {
        using var client = Client();
        await using var a = await client.WatchAsync("/w/progress/a");
        await using var b = await client.WatchAsync("/w/progress/b");
        var put = await client.PutAsync("/w/other", "x");
        await client.RequestWatchProgressAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        foreach (var watch in new[] { a, b })
        {
            var update = await watch.Updates.ReadAsync(timeout.Token);
            Assert.Equal(WatchUpdateKind.Progress, update.Kind);
            Assert.True(update.Revision >= put.Header.Revision);
        }
    }

    [Fact]
    public async Task Cancelled_watcher_stops_while_others_continue()
    {
        using var client = Client();
        var stays = await client.WatchAsync("/w/cancel/stays");
        var goes = await client.WatchAsync("/w/cancel/goes");
        await goes.DisposeAsync();
        await client.PutAsync("/w/cancel/goes", "x");
        await client.PutAsync("/w/cancel/stays", "y");
        var events = await TakeEventsAsync(stays, 1);
        Assert.Equal("y", events[0].Kv.Value.ToStringUtf8());
        Assert.False(goes.Updates.TryRead(out _));
        await stays.DisposeAsync();
    }
}
