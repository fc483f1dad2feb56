// Proves the max-in-flight wait queue: a burst over the limit that fits the queue is admitted in
// arrival order as slots free; beyond the queue a request is refused at once; a queued request whose
// wait expires is refused; a client that goes away while queued frees its place, and the slot it
// would have had goes to the next waiter. Method: InflightLimiter driven directly with a manual clock
// (no real time passes), plus the real host over TLS for the 429 + Retry-After answers and /metrics.
using System.Net;
using System.Text.Json.Nodes;
using Trireme.Testing;

namespace Trireme.ApiServer.Tests;

public sealed class InflightQueueTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task Burst_that_fits_the_queue_is_admitted_in_arrival_order()
    {
        var limiter = new InflightLimiter(limit: 2, queueLength: 3, Wait, new ManualClock());
        var requests = Enumerable.Range(0, 5).Select(_ => limiter.EnterAsync(CancellationToken.None).AsTask()).ToArray();
        Assert.Equal(AdmissionOutcome.Admitted, await requests[0]);
        Assert.Equal(AdmissionOutcome.Admitted, await requests[1]);
        Assert.Equal(3, limiter.Queued);
        for (var next = 2; next < 5; next++)
        {
            Assert.All(requests[next..], r => Assert.False(r.IsCompleted));
            limiter.Exit();
            Assert.Equal(AdmissionOutcome.Admitted, await requests[next].WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
            Assert.All(requests[(next + 1)..], r => Assert.False(r.IsCompleted));
            Assert.Equal(2, limiter.Inflight);
        }

        Assert.Equal(0, limiter.Queued);
        Assert.Equal(3, limiter.QueuedTotal);
    }

    [Fact]
    public async Task Request_beyond_a_full_queue_is_refused_at_once()
    {
        var limiter = new InflightLimiter(limit: 1, queueLength: 1, Wait, new ManualClock());
        Assert.Equal(AdmissionOutcome.Admitted, await limiter.EnterAsync(CancellationToken.None));
        var queued = limiter.EnterAsync(CancellationToken.None).AsTask();
        Assert.Equal(AdmissionOutcome.QueueFull, await limiter.EnterAsync(CancellationToken.None));
        Assert.Equal(1, limiter.RejectedQueueFull);
        Assert.False(queued.IsCompleted);
    }

    [Fact]
    public async Task Request_that_waits_past_its_bound_is_refused_and_owns_no_slot()
    {
        var clock = new ManualClock();
        var limiter = new InflightLimiter(limit: 1, queueLength: 4, Wait, clock);
        Assert.Equal(AdmissionOutcome.Admitted, await limiter.EnterAsync(CancellationToken.None));
        var queued = limiter.EnterAsync(CancellationToken.None).AsTask();
        clock.Advance(Wait - TimeSpan.FromTicks(1));
        Assert.False(queued.IsCompleted);
        clock.Advance(TimeSpan.FromTicks(1));
        Assert.Equal(AdmissionOutcome.TimedOut, await queued.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.Equal(0, limiter.Queued);
        Assert.Equal(1, limiter.RejectedTimedOut);
        Assert.Equal(Wait, limiter.WaitTotal);

        limiter.Exit();
        Assert.Equal(0, limiter.Inflight);
    }

    [Fact]
    public async Task Client_gone_while_queued_frees_its_place_and_the_slot_goes_to_the_next()
    {
        var limiter = new InflightLimiter(limit: 1, queueLength: 2, Wait, new ManualClock());
        Assert.Equal(AdmissionOutcome.Admitted, await limiter.EnterAsync(CancellationToken.None));
        using var gone = new CancellationTokenSource();
        var first = limiter.EnterAsync(gone.Token).AsTask();
        var second = limiter.EnterAsync(CancellationToken.None).AsTask();
        Assert.Equal(2, limiter.Queued);

        await gone.CancelAsync();
        Assert.Equal(AdmissionOutcome.Canceled, await first.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.Equal(1, limiter.Queued);
        var third = limiter.EnterAsync(CancellationToken.None).AsTask();
        Assert.Equal(2, limiter.Queued);

        limiter.Exit();
        Assert.Equal(AdmissionOutcome.Admitted, await second.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.False(third.IsCompleted);
        Assert.Equal(0, limiter.RejectedTimedOut);
    }

    [Fact]
    public async Task Over_the_http_edge_a_full_queue_and_an_expired_wait_are_429_with_retry_after()
    {
        var ct = TestContext.Current.CancellationToken;
        // Zero read slots: every GET queues. One queue place and a short wait: the first GET waits it
        // out (429 time-out), and while it waits a second GET finds the queue full (429 queue-full).
        await using var server = await InProcessServer.StartAsync(o =>
        {
            o.MaxRequestsInflight = 0;
            o.MaxRequestsQueued = 1;
            o.MaxQueueWait = TimeSpan.FromSeconds(5);
        });
        var waiting = server.Admin.GetAsync("/api/v1/namespaces", ct);
        await Poll.UntilAsync(() => Metrics(server).Contains("apiserver_flowcontrol_current_inqueue_requests{request_kind=\"readOnly\"} 1", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the first GET queued");
        await AssertTooManyAsync(await server.Admin.GetAsync("/api/v1/pods", ct), ct);
        await AssertTooManyAsync(await waiting, ct);

        var metrics = Metrics(server);
        Assert.Contains("apiserver_flowcontrol_rejected_requests_total{reason=\"queue-full\",request_kind=\"readOnly\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("apiserver_flowcontrol_rejected_requests_total{reason=\"time-out\",request_kind=\"readOnly\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("apiserver_flowcontrol_request_queue_wait_seconds_count{request_kind=\"readOnly\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("apiserver_flowcontrol_current_inqueue_requests{request_kind=\"readOnly\"} 0", metrics, StringComparison.Ordinal);
    }

    private static string Metrics(InProcessServer server) => server.Host.Context.Metrics.Render();

    private static async Task AssertTooManyAsync(HttpResponseMessage response, CancellationToken ct)
    {
        Assert.Equal((HttpStatusCode)429, response.StatusCode);
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
        Assert.Equal("TooManyRequests", JsonNode.Parse(await response.Content.ReadAsStringAsync(ct))!["reason"]!.GetValue<string>());
    }

    /// <summary>A clock that moves only when told; its timers fire inside <see cref="Advance"/>.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private readonly Lock _lock = new();
        private readonly List<ManualTimer> _timers = [];
        private long _now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp()
        {
            lock (_lock)
            {
                return _now;
            }
        }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new ManualTimer(this, callback, state);
            timer.Change(dueTime, period);
            return timer;
        }

        public void Advance(TimeSpan by)
        {
            List<ManualTimer> due;
            lock (_lock)
            {
                _now += by.Ticks;
                due = _timers.Where(t => t.DueAt <= _now).ToList();
                _timers.RemoveAll(due.Contains);
            }

            foreach (var t in due)
            {
                t.Fire();
            }
        }

        private sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
        {
            public long DueAt { get; private set; }

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                lock (clock._lock)
                {
                    clock._timers.Remove(this);
                    if (dueTime != Timeout.InfiniteTimeSpan)
                    {
                        DueAt = clock._now + dueTime.Ticks;
                        clock._timers.Add(this);
                    }
                }

                return true;
            }

            public void Fire() => callback(state);

            public void Dispose()
            {
                lock (clock._lock)
                {
                    clock._timers.Remove(this);
                }
            }

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
