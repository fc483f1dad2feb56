// Proves the history recorder used by the kill -9 linearizability test classifies outcomes soundly, so
// that test can fail: an answered call is complete with its output inside its call/return interval; a
// write that failed after it may have been sent (timeout, reset) is pending; a write whose connection was
// refused (a real refused connection, not a fake exception) is dropped, as is any failed read; a CAS that
// did not swap is a completed failure. Then, end to end through the checker with a fake replicated
// register: a stale read from a lagging replica and a lost acknowledged write are rejected, while a
// timed-out write that did or did not take effect is accepted. No processes; runs in milliseconds.
using System.Net;
using Google.Protobuf;
using Trireme.Grpc;
using Trireme.Grpc.Client;
using Trireme.Linearizability;
using Trireme.Store.Api;
using Trireme.Testing;
using Pb = Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Tests.Faults;

public sealed class KvHistoryRecorderTests
{
    private static readonly KvInput _put = KvInput.Put("x", "1");

    [Fact]
    public async Task An_answered_call_is_complete_with_its_output_inside_its_interval()
    {
        var recorder = new KvHistoryRecorder();
        var before = recorder.Now();
        var output = await recorder.RecordAsync(1, KvInput.Get("x"), () => Task.FromResult(KvOutput.Read("v")));
        var after = recorder.Now();

        Assert.Equal(KvOutput.Read("v"), output);
        var op = Assert.Single(recorder.History);
        Assert.False(op.IsPending);
        Assert.Equal(KvOutput.Read("v"), op.Output);
        Assert.InRange(op.CallTime, before, op.ReturnTime!.Value);
        Assert.InRange(op.ReturnTime.Value, op.CallTime, after);
    }

    [Fact]
    public async Task Sequential_calls_do_not_overlap_on_the_recorders_clock()
    {
        var recorder = new KvHistoryRecorder();
        await recorder.RecordAsync(1, _put, () => Task.FromResult(KvOutput.Done));
        await recorder.RecordAsync(2, KvInput.Get("x"), () => Task.FromResult(KvOutput.Read("1")));
        var (first, second) = (recorder.History[0], recorder.History[1]);
        Assert.True(second.CallTime >= first.ReturnTime, "the second call began after the first returned");
    }

    public static TheoryData<string> MaybeSentFailures => ["deadline", "cancelled", "unavailable-answer", "reset"];

    private static Exception Failure(string kind) => kind switch
    {
        "deadline" => new GrpcException(StatusCode.DeadlineExceeded, "deadline exceeded"),
        "cancelled" => new OperationCanceledException(),
        "unavailable-answer" => new GrpcException(StatusCode.Unavailable, "etcdserver: request timed out"),
        _ => new GrpcException(StatusCode.Unavailable, "connection error", new IOException("connection reset by peer")),
    };

    [Theory]
    [MemberData(nameof(MaybeSentFailures))]
    public async Task A_write_that_failed_after_it_may_have_been_sent_is_pending(string kind)
    {
        var recorder = new KvHistoryRecorder();
        var output = await recorder.RecordAsync(1, KvInput.Cas("x", null, "1"), () => Task.FromException<KvOutput>(Failure(kind)));
        Assert.Null(output);
        var op = Assert.Single(recorder.History);
        Assert.True(op.IsPending);
        Assert.Null(op.ReturnTime);
        Assert.Equal(0, recorder.Dropped);
    }

    [Theory]
    [MemberData(nameof(MaybeSentFailures))]
    public async Task A_read_that_failed_is_dropped(string kind)
    {
        var recorder = new KvHistoryRecorder();
        Assert.Null(await recorder.RecordAsync(1, KvInput.Get("x"), () => Task.FromException<KvOutput>(Failure(kind))));
        Assert.Empty(recorder.History);
        Assert.Equal(1, recorder.Dropped);
    }

    [Fact]
    public async Task A_write_whose_connection_was_refused_is_dropped_because_it_never_left()
    {
        // A real refused connection through the project's own gRPC channel: nothing listens on the port.
        var port = FreePort.Get(IPAddress.Loopback);
        using var channel = new GrpcChannel(new Uri($"http://127.0.0.1:{port}"));
        var recorder = new KvHistoryRecorder();
        Exception? seen = null;
        var output = await recorder.RecordAsync(1, _put, async () =>
        {
            try
            {
                await channel.UnaryAsync(EtcdMethods.KVPut,
                    new Pb.PutRequest { Key = ByteString.CopyFromUtf8("x"), Value = ByteString.CopyFromUtf8("1") },
                    Pb.PutResponse.Parser, new CallOptions(TimeSpan.FromSeconds(10)));
                return KvOutput.Done;
            }
            catch (Exception e)
            {
                seen = e;
                throw;
            }
        });
        Assert.Null(output);
        Assert.NotNull(seen);
        Assert.True(KvHistoryRecorder.NeverSent(seen), seen.ToString());
        Assert.Empty(recorder.History);
        Assert.Equal(1, recorder.Dropped);
    }

    [Fact]
    public async Task A_compare_and_swap_that_did_not_swap_is_a_completed_failure()
    {
        var recorder = new KvHistoryRecorder();
        await recorder.RecordAsync(1, KvInput.Cas("x", "0", "1"), () => Task.FromResult(KvOutput.Swapped(false)));
        var op = Assert.Single(recorder.History);
        Assert.False(op.IsPending);
        Assert.False(op.Output!.Succeeded);
    }

    [Fact]
    public async Task An_unexpected_exception_is_not_swallowed()
    {
        var recorder = new KvHistoryRecorder();
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            recorder.RecordAsync(1, _put, () => Task.FromException<KvOutput>(new InvalidOperationException("test bug"))));
    }

    /// <summary>A register with a primary and a replica that can lag or lose writes: the anomalies a
    /// broken store shows, to prove recorder + checker catch them.</summary>
    private sealed class FakeRegister
    {
        public string? Primary { get; set; }
        public string? Replica { get; set; }
    }

    private static Verdict Check(KvHistoryRecorder recorder) => LinearizabilityChecker.Check(KvModel.Instance, recorder.History).Verdict;

    [Fact]
    public async Task A_stale_read_from_a_lagging_replica_is_rejected()
    {
        var register = new FakeRegister();
        var recorder = new KvHistoryRecorder();
        await recorder.RecordAsync(1, KvInput.Put("x", "1"), () => { register.Primary = register.Replica = "1"; return Task.FromResult(KvOutput.Done); });
        await recorder.RecordAsync(1, KvInput.Put("x", "2"), () => { register.Primary = "2"; return Task.FromResult(KvOutput.Done); });
        await recorder.RecordAsync(2, KvInput.Get("x"), () => Task.FromResult(KvOutput.Read(register.Replica)));
        Assert.Equal(Verdict.NotLinearizable, Check(recorder));
    }

    [Fact]
    public async Task A_lost_acknowledged_write_is_rejected()
    {
        var register = new FakeRegister();
        var recorder = new KvHistoryRecorder();
        await recorder.RecordAsync(1, KvInput.Put("x", "1"), () => Task.FromResult(KvOutput.Done)); // acknowledged, never applied
        await recorder.RecordAsync(2, KvInput.Get("x"), () => Task.FromResult(KvOutput.Read(register.Primary)));
        Assert.Equal(Verdict.NotLinearizable, Check(recorder));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_timed_out_write_may_or_may_not_have_taken_effect(bool applied)
    {
        var register = new FakeRegister();
        var recorder = new KvHistoryRecorder();
        await recorder.RecordAsync(1, KvInput.Put("x", "1"), () =>
        {
            if (applied)
            {
                register.Primary = "1";
            }

            return Task.FromException<KvOutput>(new GrpcException(StatusCode.DeadlineExceeded, "deadline exceeded"));
        });
        await recorder.RecordAsync(2, KvInput.Get("x"), () => Task.FromResult(KvOutput.Read(register.Primary)));
        Assert.Equal(Verdict.Linearizable, Check(recorder));
    }
}
