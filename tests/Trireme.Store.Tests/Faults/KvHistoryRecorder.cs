using System.Diagnostics;
using System.Net.Sockets;
using Trireme.Linearizability;

namespace Trireme.Store.Tests.Faults;

/// <summary>
/// Records what real clients saw, for the linearizability checker: each call's invocation and return
/// on one monotonic clock shared by all clients, and its outcome. The outcome rules are the heart of a
/// sound check, so they are written here once and tested on their own (<c>KvHistoryRecorderTests</c>):
/// <list type="bullet">
/// <item>an answer → a completed operation with that output;</item>
/// <item>a write that failed in any way the request may have reached a member (timeout, reset, "request
/// timed out", "leader changed", a process killed mid-call) → <em>pending</em>: it may take effect at any
/// later moment or never, so the checker must allow both;</item>
/// <item>a write whose connection was refused → dropped: the request never left the client, so it
/// cannot have taken effect (recording it as pending would be sound too, only slower to check);</item>
/// <item>a failed read → dropped: a read that returned nothing has no effect to explain.</item>
/// </list>
/// </summary>
internal sealed class KvHistoryRecorder
{
    private readonly List<Operation<KvInput, KvOutput>> _operations = [];
    private readonly Lock _lock = new();
    private readonly long _origin = Stopwatch.GetTimestamp();
    private int _dropped;

    /// <summary>Monotonic ticks since the recorder was made; only their order matters to the checker.</summary>
    public long Now() => Stopwatch.GetTimestamp() - _origin;

    public int Dropped => Volatile.Read(ref _dropped);

    public IReadOnlyList<Operation<KvInput, KvOutput>> History
    {
        get
        {
            lock (_lock)
            {
                return [.. _operations];
            }
        }
    }

    public int CompletedCount => History.Count(op => !op.IsPending);

    public int PendingCount => History.Count(op => op.IsPending);

    /// <summary>
    /// Invokes <paramref name="call"/> as client <paramref name="clientId"/> doing <paramref name="input"/>
    /// and records the outcome. Returns the output, or null when the call failed (the failure is recorded
    /// by the rules above and not rethrown: a failed call is an expected outcome under faults).
    /// </summary>
    public async Task<KvOutput?> RecordAsync(int clientId, KvInput input, Func<Task<KvOutput>> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var callTime = Now();
        KvOutput output;
        try
        {
            output = await call().ConfigureAwait(false);
        }
        catch (Exception e) when (IsCallFailure(e))
        {
            if (input.Kind == KvOpKind.Get || NeverSent(e))
            {
                Interlocked.Increment(ref _dropped);
            }
            else
            {
                Add(Operation<KvInput, KvOutput>.Pending(clientId, input, callTime));
            }

            return null;
        }

        // The return is stamped after the answer arrived, so the interval covers the real one.
        Add(Operation<KvInput, KvOutput>.Completed(clientId, input, output, callTime, Now()));
        return output;
    }

    /// <summary>Failures a call can end with under faults. Anything else (a bug in the test, an assertion)
    /// propagates.</summary>
    public static bool IsCallFailure(Exception e) =>
        e is Trireme.Grpc.GrpcException or HttpRequestException or IOException or OperationCanceledException or SocketException;

    /// <summary>True only when the connection was refused: the request was never written to any socket.</summary>
    public static bool NeverSent(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
            {
                return true;
            }
        }

        return false;
    }

    private void Add(Operation<KvInput, KvOutput> operation)
    {
        lock (_lock)
        {
            _operations.Add(operation);
        }
    }
}
