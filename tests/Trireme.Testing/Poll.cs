namespace Trireme.Testing;

/// <summary>Waiting for state by polling with a deadline, never by sleeping a fixed time.</summary>
public static class Poll
{
    /// <summary>Generous default for a loaded 2-core machine.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan? timeout = null, string? what = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var deadline = DateTime.UtcNow + (timeout ?? DefaultTimeout);
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition().ConfigureAwait(false))
                {
                    return;
                }
            }
#pragma warning disable CA1031 // The condition may fail while the thing polled for is still starting.
            catch (Exception e)
#pragma warning restore CA1031
            {
                last = e;
            }

            await Task.Delay(50).ConfigureAwait(false);
        }

        throw new TimeoutException($"timed out waiting for {what ?? "condition"}", last);
    }

    public static Task UntilAsync(Func<bool> condition, TimeSpan? timeout = null, string? what = null) =>
        UntilAsync(() => Task.FromResult(condition()), timeout, what);
}
