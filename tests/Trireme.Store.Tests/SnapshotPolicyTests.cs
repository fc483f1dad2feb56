using Trireme.Store.Host;
using Xunit;

namespace Trireme.Store.Tests;

public sealed class SnapshotPolicyTests
{
    private const ulong Count = 100_000;
    private const ulong MiB = 1024 * 1024;

    [Theory]
    // Fewer entries than --snapshot-count: never due, whatever the bytes.
    [InlineData(Count - 1, 0UL, 0UL, false)]
    [InlineData(Count - 1, 10_000 * MiB, 200 * MiB, false)]
    // A small state (last snapshot under 64 MiB, or none yet): etcd's rule exactly.
    [InlineData(Count, 0UL, 0UL, true)]
    [InlineData(Count, 1UL, (64 * MiB) - 1, true)]
    // A large state: also half its size in new entries...
    [InlineData(Count, (100 * MiB) - 1, 200 * MiB, false)]
    [InlineData(Count, 100 * MiB, 200 * MiB, true)]
    [InlineData(Count, 32 * MiB, 64 * MiB, true)]
    [InlineData(Count, (32 * MiB) - 1, 64 * MiB, false)]
    // ...but never more than 10x the count of entries.
    [InlineData((10 * Count) - 1, 1UL, 200 * MiB, false)]
    [InlineData(10 * Count, 1UL, 200 * MiB, true)]
    public void Due_when_the_count_is_reached_and_for_a_large_state_half_its_size_is_new(
        ulong entriesSince, ulong entryBytesSince, ulong lastSnapshotBytes, bool due)
    {
        Assert.Equal(due, SnapshotPolicy.Due(entriesSince, Count, entryBytesSince, lastSnapshotBytes));
    }

    [Fact]
    public void A_huge_snapshot_count_does_not_overflow_into_always_due()
    {
        Assert.False(SnapshotPolicy.Due(ulong.MaxValue - 1, ulong.MaxValue, 0, 200 * MiB));
        Assert.True(SnapshotPolicy.Due(ulong.MaxValue, ulong.MaxValue, 0, 1));
    }
}
