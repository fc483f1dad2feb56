// Proves the quorum table operators rely on (etcd's FAQ): N = 1..7 members need floor(N/2)+1 votes and
// tolerate floor((N-1)/2) failures. The expected values are written out, not recomputed.
using Trireme.Primitives;

namespace Trireme.Primitives.Tests;

public sealed class QuorumTests
{
    [Theory]
    [InlineData(1, 1, 0)]
    [InlineData(2, 2, 0)]
    [InlineData(3, 2, 1)]
    [InlineData(4, 3, 1)]
    [InlineData(5, 3, 2)]
    [InlineData(6, 4, 2)]
    [InlineData(7, 4, 3)]
    public void Majority_and_failure_tolerance_match_the_operators_table(int members, int majority, int tolerance)
    {
        Assert.Equal(majority, Quorum.Majority(members));
        Assert.Equal(tolerance, Quorum.FailureTolerance(members));
    }

    [Fact]
    public void Negative_member_count_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Quorum.Majority(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Quorum.FailureTolerance(-1));
    }
}
