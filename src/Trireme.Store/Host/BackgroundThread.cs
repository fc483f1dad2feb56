using System.Runtime.InteropServices;

namespace Trireme.Store.Host;

/// <summary>
/// Long, heavy background work (encoding a snapshot of tens of MB, writing and flushing it) on its own
/// thread at a lower scheduling priority. On the thread pool such work held one of the few workers —
/// two on a two-core machine — for hundreds of ms, and every request continuation queued behind it; at
/// normal priority it competed on equal terms with the Raft loop, the WAL writer and the request
/// threads. With a nice value of <see cref="Niceness"/> the kernel gives it the CPU those threads leave.
/// </summary>
internal static partial class BackgroundThread
{
    /// <summary>Linux nice value for the thread (0 is normal, 19 the lowest priority).</summary>
    public const int Niceness = 10;

    /// <summary>Runs <paramref name="work"/> on a new dedicated thread; the task completes (or faults)
    /// with it.</summary>
    public static Task Run(string name, Action work)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            LowerPriority();
            try
            {
                work();
                done.SetResult();
            }
            catch (Exception e)
            {
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = name,
        };
        thread.Start();
        return done.Task;
    }

    private static void LowerPriority()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // setpriority(PRIO_PROCESS, tid) sets one thread's nice value on Linux. Lowering needs no
        // privilege; if it fails the work just runs at normal priority.
        _ = SetPriority(PrioProcess, GetTid(), Niceness);
    }

    private const int PrioProcess = 0;

    [LibraryImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "gettid")]
    private static partial int GetTid();
}
