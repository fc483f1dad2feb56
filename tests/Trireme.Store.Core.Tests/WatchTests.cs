// Proves the watch hub gives etcd's guarantees: every matching event exactly once, in revision order,
// whole revisions per message; catch-up from an uncompacted revision out of MVCC history; a cancel
// carrying the compact revision when history is gone (also when compaction overtakes a watcher
// that is catching up); bounded per-watcher queues, with a slow watcher falling back to "unsynced"
// and resuming from history; prev_kv, NOPUT/NODELETE filters, progress notifications and cancel.
// The many-watchers test checks every watcher's stream against a naive model built from the writes.
using Trireme.Store.Core;
using Trireme.Store.Core.Watch;
using static Trireme.Store.Core.Tests.TestStore;

namespace Trireme.Store.Core.Tests;

public sealed class WatchTests
{
    private static List<WatchEvent> Drain(WatchHub hub, long id, List<WatchResponse>? responses = null)
    {
        var events = new List<WatchEvent>();
        for (int guard = 0; guard < 100_000; guard++)
        {
            WatchResponse? response = hub.Take(id, maxEvents: 7);
            if (response is null)
            {
                return events;
            }

            responses?.Add(response);
            events.AddRange(response.Events);
        }

        throw new InvalidOperationException("watcher never drained");
    }

    [Fact]
    public void A_watcher_from_now_sees_puts_and_deletes_in_order()
    {
        var store = new TestStore();
        store.Put("before", "x");
        WatchHub hub = store.Machine.Watches;
        (long id, _) = hub.Create(new WatchCreateRequest { Key = B("k") });
        store.Put("k", "1");
        store.Put("other", "1");
        store.Delete("k");
        List<WatchEvent> events = Drain(hub, id);
        Assert.Equal([(WatchEventType.Put, 3L, "1"), (WatchEventType.Delete, 5L, "")],
            events.Select(e => (e.Type, e.Kv.ModRevision, S(e.Kv.Value))));
        Assert.All(events, e => Assert.Null(e.PrevKv));
    }

    [Fact]
    public void Prefix_and_from_key_watchers_match_their_ranges()
    {
        var store = new TestStore();
        WatchHub hub = store.Machine.Watches;
        (long prefix, _) = hub.Create(new WatchCreateRequest { Key = B("foo/"), RangeEnd = ByteKeys.PrefixEnd(B("foo/")) });
        (long fromKey, _) = hub.Create(new WatchCreateRequest { Key = B("m"), RangeEnd = [0] });
        (long all, _) = hub.Create(new WatchCreateRequest { Key = [], RangeEnd = [0] });
        foreach (string key in new[] { "a", "foo", "foo/1", "foo/2/x", "fop", "z" })
        {
            store.Put(key, "v");
        }

        Assert.Equal(["foo/1", "foo/2/x"], Drain(hub, prefix).Select(e => S(e.Kv.Key)));
        Assert.Equal(["z"], Drain(hub, fromKey).Select(e => S(e.Kv.Key)));
        Assert.Equal(6, Drain(hub, all).Count);
    }

    [Fact]
    public void Prev_kv_and_filters()
    {
        var store = new TestStore();
        store.Put("k", "old");
        WatchHub hub = store.Machine.Watches;
        (long withPrev, _) = hub.Create(new WatchCreateRequest { Key = B("k"), PrevKv = true });
        (long noPut, _) = hub.Create(new WatchCreateRequest { Key = B("k"), NoPut = true });
        (long noDelete, _) = hub.Create(new WatchCreateRequest { Key = B("k"), NoDelete = true });
        store.Put("k", "new");
        store.Delete("k");

        List<WatchEvent> events = Drain(hub, withPrev);
        Assert.Equal(["old", "new"], events.Select(e => S(e.PrevKv!.Value)));
        Assert.Equal([WatchEventType.Delete], Drain(hub, noPut).Select(e => e.Type));
        Assert.Equal([WatchEventType.Put], Drain(hub, noDelete).Select(e => e.Type));
    }

    [Fact]
    public void A_txn_is_one_revision_delivered_in_one_message()
    {
        var store = new TestStore();
        WatchHub hub = store.Machine.Watches;
        (long id, _) = hub.Create(new WatchCreateRequest { Key = B("a"), RangeEnd = [0] });
        store.Ok<TxnResponse>(new TxnRequest
        {
            Success = [.. Enumerable.Range(0, 20).Select(i => new PutRequest { Key = B($"k{i:D2}"), Value = B("v") })],
        });
        WatchResponse response = hub.Take(id, maxEvents: 5)!; // a revision is never split
        Assert.Equal(20, response.Events.Count);
        Assert.All(response.Events, e => Assert.Equal(2, e.Kv.ModRevision));
        Assert.Equal(2, response.Revision);
    }

    [Fact]
    public void Watching_from_an_old_revision_replays_history_then_continues_live()
    {
        var store = new TestStore();
        store.Put("k", "1"); // 2
        store.Put("k", "2"); // 3
        store.Delete("k");   // 4
        store.Put("k", "3"); // 5
        WatchHub hub = store.Machine.Watches;
        (long id, _) = hub.Create(new WatchCreateRequest { Key = B("k"), StartRevision = 3, PrevKv = true });
        store.Put("k", "4"); // 6
        List<WatchEvent> events = Drain(hub, id);
        Assert.Equal([3L, 4L, 5L, 6L], events.Select(e => e.Kv.ModRevision));
        Assert.Equal("2", S(events[1].PrevKv!.Value)); // the delete carries what it deleted
        Assert.Null(events[2].PrevKv);                 // re-created: nothing before it
        Assert.True(hub.IsSynced(id));
    }

    [Fact]
    public void A_future_start_revision_waits_for_it()
    {
        var store = new TestStore();
        WatchHub hub = store.Machine.Watches;
        (long id, _) = hub.Create(new WatchCreateRequest { Key = B("k"), StartRevision = 4 });
        store.Put("k", "1"); // 2
        store.Put("k", "2"); // 3
        store.Put("k", "3"); // 4
        Assert.Equal([4L], Drain(hub, id).Select(e => e.Kv.ModRevision));
    }

    [Fact]
    public void Watching_from_a_compacted_revision_is_cancelled_with_the_compact_revision()
    {
        var store = new TestStore();
        store.Put("k", "1");
        store.Put("k", "2");
        store.Put("k", "3");
        store.Ok<CompactionResponse>(new CompactionRequest { Revision = 3 });
        WatchHub hub = store.Machine.Watches;
        (long id, StoreError? error) = hub.Create(new WatchCreateRequest { Key = B("k"), StartRevision = 2 });
        Assert.Null(error);
        WatchResponse response = hub.Take(id)!;
        Assert.True(response.Canceled);
        Assert.Equal(3, response.CompactRevision);
        Assert.Equal("etcdserver: mvcc: required revision has been compacted", response.CancelReason);
        Assert.Null(hub.Take(id));
        Assert.Equal(0, hub.Count);

        // At the compact revision itself history is still there.
        (long atCompact, _) = hub.Create(new WatchCreateRequest { Key = B("k"), StartRevision = 3 });
        Assert.Equal([3L, 4L], Drain(hub, atCompact).Select(e => e.Kv.ModRevision));
    }

    [Fact]
    public void A_slow_watcher_is_bounded_goes_unsynced_and_later_gets_every_event_once()
    {
        var store = new TestStore(new StoreOptions { MaxPendingEventsPerWatcher = 4 });
        WatchHub hub = store.Machine.Watches;
        (long slow, _) = hub.Create(new WatchCreateRequest { Key = B("k"), RangeEnd = B("l") });
        (long fast, _) = hub.Create(new WatchCreateRequest { Key = B("k"), RangeEnd = B("l") });
        var fastEvents = new List<WatchEvent>();
        for (int i = 0; i < 100; i++)
        {
            store.Put($"k{i % 7}", $"{i}");
            fastEvents.AddRange(Drain(hub, fast));
        }

        Assert.False(hub.IsSynced(slow));
        Assert.Equal(1, hub.UnsyncedCount);
        List<WatchEvent> slowEvents = Drain(hub, slow);
        long[] expected = [.. Enumerable.Range(2, 100).Select(r => (long)r)];
        Assert.Equal(expected, slowEvents.Select(e => e.Kv.ModRevision));
        Assert.Equal(expected, fastEvents.Select(e => e.Kv.ModRevision));
        Assert.True(hub.IsSynced(slow));

        store.Put("k1", "after");
        Assert.Equal([102L], Drain(hub, slow).Select(e => e.Kv.ModRevision));
    }

    [Fact]
    public void Compaction_overtaking_a_catching_up_watcher_delivers_what_it_has_then_cancels()
    {
        var store = new TestStore(new StoreOptions { MaxPendingEventsPerWatcher = 3 });
        WatchHub hub = store.Machine.Watches;
        (long id, _) = hub.Create(new WatchCreateRequest { Key = B("k") });
        for (int i = 0; i < 20; i++)
        {
            store.Put("k", $"{i}"); // revisions 2..21
        }

        store.Ok<CompactionResponse>(new CompactionRequest { Revision = 15 });
        var responses = new List<WatchResponse>();
        List<WatchEvent> events = Drain(hub, id, responses);
        Assert.Equal([2L, 3L, 4L], events.Select(e => e.Kv.ModRevision)); // what was queued before it fell behind
        WatchResponse last = responses[^1];
        Assert.True(last.Canceled);
        Assert.Equal(15, last.CompactRevision);
    }

    [Fact]
    public void SyncUnsynced_catches_up_watchers_without_a_take()
    {
        var store = new TestStore(new StoreOptions { MaxPendingEventsPerWatcher = 2 });
        WatchHub hub = store.Machine.Watches;
        (long id, _) = hub.Create(new WatchCreateRequest { Key = B("k") });
        for (int i = 0; i < 5; i++)
        {
            store.Put("k", $"{i}");
        }

        Assert.False(hub.IsSynced(id));
        Assert.Equal(0, hub.SyncUnsynced()); // queue full: nothing to do
        Assert.Equal(2, hub.Take(id, maxEvents: 2)!.Events.Count); // take refills from history
        Assert.Equal(2, hub.Take(id, maxEvents: 2)!.Events.Count);
        Assert.Single(hub.Take(id, maxEvents: 2)!.Events);
        Assert.True(hub.IsSynced(id));
    }

    [Fact]
    public void Progress_notifications_go_to_synced_idle_watchers_only()
    {
        var store = new TestStore(new StoreOptions { MaxPendingEventsPerWatcher = 1 });
        WatchHub hub = store.Machine.Watches;
        (long idle, _) = hub.Create(new WatchCreateRequest { Key = B("idle"), ProgressNotify = true });
        (long busy, _) = hub.Create(new WatchCreateRequest { Key = B("busy"), ProgressNotify = true });
        (long quiet, _) = hub.Create(new WatchCreateRequest { Key = B("quiet") });
        store.Put("busy", "1");
        store.Put("busy", "2"); // busy now has a full queue and fell behind

        Assert.Equal(1, hub.NotifyProgress());
        WatchResponse progress = hub.Take(idle)!;
        Assert.True(progress.IsProgressNotify);
        Assert.Empty(progress.Events);
        Assert.Equal(3, progress.Revision);
        Assert.Null(hub.Take(quiet));
        Assert.False(hub.Take(busy)!.IsProgressNotify);
        Assert.True(hub.RequestProgress(quiet));
        Assert.Equal(3, hub.Take(quiet)!.Revision);
    }

    [Fact]
    public void Cancel_stops_delivery_and_the_watcher_limit_is_enforced()
    {
        var store = new TestStore(new StoreOptions { MaxWatchers = 2 });
        WatchHub hub = store.Machine.Watches;
        (long a, _) = hub.Create(new WatchCreateRequest { Key = B("k") });
        hub.Create(new WatchCreateRequest { Key = B("k") });
        Assert.Equal(StoreError.TooManyWatchers, hub.Create(new WatchCreateRequest { Key = B("k") }).Error);
        store.Put("k", "1");
        Assert.True(hub.Cancel(a));
        Assert.False(hub.Cancel(a));
        Assert.Null(hub.Take(a));
        Assert.Single(hub.Ready);
    }

    [Fact]
    public void Watchers_survive_a_snapshot_restore_and_resume_from_history()
    {
        var leader = new TestStore();
        var follower = new TestStore();
        WatchHub hub = follower.Machine.Watches;
        (long id, _) = hub.Create(new WatchCreateRequest { Key = B("k"), RangeEnd = B("l") });
        for (int i = 0; i < 5; i++)
        {
            leader.Put($"k{i}", "v"); // the follower misses these and installs a snapshot instead
        }

        follower.Machine.RestoreSnapshot(leader.Machine.Snapshot());
        follower.Index = leader.Index;
        follower.Put("k9", "v");
        Assert.Equal([2L, 3L, 4L, 5L, 6L, 7L], Drain(hub, id).Select(e => e.Kv.ModRevision));
    }

    [Fact]
    public void Many_watchers_random_writes_and_random_draining_match_a_naive_model()
    {
        for (int seed = 1; seed <= 5; seed++)
        {
            RunManyWatchers(seed);
        }
    }

    private static void RunManyWatchers(int seed)
    {
        var random = new Random(seed);
        var store = new TestStore(new StoreOptions { MaxPendingEventsPerWatcher = 8 });
        WatchHub hub = store.Machine.Watches;
        var written = new List<(long Revision, string Key, WatchEventType Type, string Value)>();
        var watchers = new List<(long Id, WatchCreateRequest Request, long From, List<WatchResponse> Got, bool Slow)>();
        string Key() => $"k{random.Next(30):D2}";

        for (int step = 0; step < 1500; step++)
        {
            int action = random.Next(100);
            if (action < 5 && watchers.Count < 200)
            {
                string key = Key();
                var request = new WatchCreateRequest
                {
                    Key = B(key),
                    RangeEnd = random.Next(3) switch { 0 => [], 1 => B($"k{random.Next(30):D2}z"), _ => [0] },
                    StartRevision = random.Next(2) == 0 ? 0 : Math.Max(store.Machine.CompactRevision, 1) + random.Next(20),
                    NoDelete = random.Next(5) == 0,
                };
                long from = request.StartRevision == 0 ? store.Machine.CurrentRevision + 1 : request.StartRevision;
                (long id, _) = hub.Create(request);
                watchers.Add((id, request, from, [], random.Next(3) == 0));
            }
            else if (action < 60)
            {
                string key = Key();
                string value = $"{step}";
                PutResponse put = store.Put(key, value);
                written.Add((put.Revision, key, WatchEventType.Put, value));
            }
            else if (action < 75)
            {
                string key = Key();
                DeleteRangeResponse deleted = store.Delete(key);
                if (deleted.Deleted > 0)
                {
                    written.Add((deleted.Revision, key, WatchEventType.Delete, ""));
                }
            }
            else if (action < 77 && store.Machine.CurrentRevision - 40 > Math.Max(1, store.Machine.CompactRevision))
            {
                store.Ok<CompactionResponse>(new CompactionRequest { Revision = store.Machine.CurrentRevision - 40 });
            }
            else if (action < 95)
            {
                foreach ((long id, _, _, List<WatchResponse> got, bool slow) in watchers)
                {
                    if (!slow || random.Next(10) == 0)
                    {
                        if (hub.Take(id, random.Next(1, 6)) is { } response)
                        {
                            got.Add(response);
                        }
                    }
                }
            }
            else
            {
                hub.SyncUnsynced(random.Next(1, 20));
            }
        }

        int completed = 0;
        int cancelled = 0;
        foreach ((long id, WatchCreateRequest request, long from, List<WatchResponse> responses, _) in watchers)
        {
            Drain(hub, id, responses);
            List<WatchEvent> got = [.. responses.SelectMany(r => r.Events)];
            bool canceled = responses.Count > 0 && responses[^1].Canceled;
            Assert.All(responses.SkipLast(1), r => Assert.False(r.Canceled)); // nothing after a cancel
            var expected = written
                .Where(w => ByteKeys.InRange(request.Key, request.RangeEnd, B(w.Key)))
                .Where(w => !(request.NoDelete && w.Type == WatchEventType.Delete))
                .Where(w => w.Revision >= from)
                .Select(w => (w.Revision, w.Key, w.Type, w.Value))
                .ToList();
            var actual = got.Select(e => (e.Kv.ModRevision, S(e.Kv.Key), e.Type, S(e.Kv.Value))).ToList();
            cancelled += canceled ? 1 : 0;
            completed += canceled ? 0 : 1;
            if (canceled)
            {
                // Cancelled for compaction: what it got must be an exact prefix of the model.
                Assert.Equal(expected.Take(actual.Count), actual);
                Assert.True(responses[^1].CompactRevision > 0);
            }
            else
            {
                Assert.True(expected.SequenceEqual(actual),
                    $"seed {seed} watcher {id} key {S(request.Key)} end [{string.Join(',', request.RangeEnd)}] from {from} " +
                    $"start {request.StartRevision} noDelete {request.NoDelete} synced {hub.IsSynced(id)} compact {store.Machine.CompactRevision} " +
                    $"expected {expected.Count} actual {actual.Count} first diff {expected.Zip(actual).TakeWhile(p => p.First == p.Second).Count()} " +
                    $"exp {string.Join(' ', expected.Take(12))} act {string.Join(' ', actual.Take(12))}");
            }
        }

        // The run must exercise both outcomes, or it proves less than it claims.
        Assert.True(completed > 10 && cancelled > 0, $"seed {seed}: {completed} completed, {cancelled} cancelled");
    }
}
