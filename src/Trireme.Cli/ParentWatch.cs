using System.Globalization;
using System.Runtime.InteropServices;

namespace Trireme.Cli;

/// <summary>
/// A role started by <c>trireme up</c> must not outlive it: if <c>up</c> is killed with -9 nobody stops
/// its children, and a rerun then fails to bind their addresses. The parent names itself in
/// <see cref="EnvironmentVariable"/>; the child polls <c>getppid()</c> and, once it has been re-parented,
/// sends itself SIGTERM so the role's normal graceful stop runs (VRRP priority 0, leadership transfer).
/// PR_SET_PDEATHSIG is not used: it fires when the parent *thread* that forked exits, and .NET starts
/// processes from pool threads that retire while the parent lives on.
/// </summary>
internal static class ParentWatch
{
    public const string EnvironmentVariable = "TRIREME_PARENT_PID";

    /// <summary>How often the child looks; a stray role lingers at most this long after its parent.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    public static void StartIfAsked()
    {
        var value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (value is null || !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parent) || parent <= 1)
        {
            return;
        }

        // Children of this process (none today) must not inherit a watch on someone else's parent.
        Environment.SetEnvironmentVariable(EnvironmentVariable, null);
        var thread = new Thread(() => Watch(parent)) { IsBackground = true, Name = "parent-watch" };
        thread.Start();
    }

    private static void Watch(int parent)
    {
        while (GetParentPid() == parent)
        {
            Thread.Sleep(PollInterval);
        }

        _ = Kill(Environment.ProcessId, 15);
    }

    [DllImport("libc", EntryPoint = "getppid")]
    private static extern int GetParentPid();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
