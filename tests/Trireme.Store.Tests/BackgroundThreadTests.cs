using System.Globalization;
using Trireme.Store.Host;
using Xunit;

namespace Trireme.Store.Tests;

public sealed class BackgroundThreadTests
{
    [Fact]
    public async Task Work_runs_on_its_own_thread_at_the_lower_priority()
    {
        var caller = Environment.CurrentManagedThreadId;
        int worker = 0;
        string? name = null;
        bool onPool = true;
        int? nice = null;
        await BackgroundThread.Run("trireme-test-background", () =>
        {
            worker = Environment.CurrentManagedThreadId;
            name = Thread.CurrentThread.Name;
            onPool = Thread.CurrentThread.IsThreadPoolThread;
            nice = OperatingSystem.IsLinux() ? CurrentThreadNice() : null;
        }).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.NotEqual(caller, worker);
        Assert.Equal("trireme-test-background", name);
        Assert.False(onPool, "the work ran on a thread-pool thread");
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(BackgroundThread.Niceness, nice);
        }
    }

    [Fact]
    public async Task A_failure_faults_the_task_with_the_exception()
    {
        var task = BackgroundThread.Run("trireme-test-background", () => throw new InvalidDataException("broken snapshot"));
        var error = await Assert.ThrowsAsync<InvalidDataException>(() => task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken));
        Assert.Equal("broken snapshot", error.Message);
    }

    /// <summary>Field 19 (nice) of /proc/thread-self/stat; the command name (field 2) may hold spaces, so
    /// count from its closing parenthesis.</summary>
    private static int CurrentThreadNice()
    {
        var stat = File.ReadAllText("/proc/thread-self/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return int.Parse(fields[19 - 3], CultureInfo.InvariantCulture);
    }
}
