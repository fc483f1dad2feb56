// Proves the checker's verdicts on hand-written key-value histories whose answer a reader can see on a
// timeline: each anomaly a replicated store can show (stale read, lost write, CAS that both won, reads
// that go back in time) is rejected, each legal interleaving of overlapping operations is accepted,
// and pending operations may take effect late or never but not before their call.
using static Trireme.Linearizability.Tests.History;

namespace Trireme.Linearizability.Tests;

public sealed class KvHistoryTests
{
    [Fact]
    public void Empty_history_is_linearizable() => Assert.Equal(Verdict.Linearizable, Check());

    [Fact]
    public void Sequential_put_then_get_of_that_value_is_linearizable() =>
        Assert.Equal(Verdict.Linearizable, Check(Put(1, "x", "1", 0, 1), Get(2, "x", "1", 2, 3)));

    [Fact]
    public void Stale_read_after_a_newer_write_returned_is_not_linearizable() =>
        Assert.Equal(Verdict.NotLinearizable, Check(
            Put(1, "x", "1", 0, 1),
            Put(1, "x", "2", 2, 3),
            Get(2, "x", "1", 4, 5)));

    [Fact]
    public void Lost_write_read_as_absent_after_it_returned_is_not_linearizable() =>
        Assert.Equal(Verdict.NotLinearizable, Check(Put(1, "x", "1", 0, 1), Get(2, "x", null, 2, 3)));

    [Fact]
    public void Read_that_was_never_written_is_not_linearizable() =>
        Assert.Equal(Verdict.NotLinearizable, Check(Put(1, "x", "1", 0, 1), Get(2, "x", "9", 2, 3)));

    [Theory]
    [InlineData("1")]
    [InlineData("2")]
    public void Read_overlapping_a_write_may_see_old_or_new(string seen) =>
        Assert.Equal(Verdict.Linearizable, Check(
            Put(1, "x", "1", 0, 1),
            Put(1, "x", "2", 2, 6),
            Get(2, "x", seen, 3, 4)));

    [Fact]
    public void Reads_overlapping_a_write_must_not_go_back_once_the_new_value_was_seen() =>
        Assert.Equal(Verdict.NotLinearizable, Check(
            Put(1, "x", "1", 0, 1),
            Put(1, "x", "2", 2, 20),
            Get(2, "x", "2", 3, 4),
            Get(3, "x", "1", 5, 6)));

    [Fact]
    public void Two_overlapping_reads_may_disagree_when_each_overlaps_the_write() =>
        Assert.Equal(Verdict.Linearizable, Check(
            Put(1, "x", "1", 0, 1),
            Put(1, "x", "2", 2, 20),
            Get(2, "x", "2", 3, 10),
            Get(3, "x", "1", 5, 6)));

    [Fact]
    public void Concurrent_writes_may_land_in_either_order_but_then_reads_agree() =>
        Assert.Equal(Verdict.Linearizable, Check(
            Put(1, "x", "a", 0, 5),
            Put(2, "x", "b", 0, 5),
            Get(3, "x", "a", 6, 7),
            Get(3, "x", "a", 8, 9)));

    [Fact]
    public void Concurrent_writes_then_reads_that_flip_flop_are_not_linearizable() =>
        Assert.Equal(Verdict.NotLinearizable, Check(
            Put(1, "x", "a", 0, 5),
            Put(2, "x", "b", 0, 5),
            Get(3, "x", "a", 6, 7),
            Get(3, "x", "b", 8, 9)));

    [Fact]
    public void Two_compare_and_swaps_from_the_same_value_cannot_both_win() =>
        Assert.Equal(Verdict.NotLinearizable, Check(
            Cas(1, "x", null, "a", swapped: true, 0, 5),
            Cas(2, "x", null, "b", swapped: true, 0, 5)));

    [Fact]
    public void Two_overlapping_compare_and_swaps_one_wins_one_loses() =>
        Assert.Equal(Verdict.Linearizable, Check(
            Cas(1, "x", null, "a", swapped: true, 0, 5),
            Cas(2, "x", null, "b", swapped: false, 0, 5),
            Get(3, "x", "a", 6, 7)));

    [Fact]
    public void Compare_and_swap_that_fails_although_the_value_matched_is_not_linearizable() =>
        Assert.Equal(Verdict.NotLinearizable, Check(
            Put(1, "x", "1", 0, 1),
            Cas(2, "x", "1", "2", swapped: false, 2, 3)));

    [Fact]
    public void Compare_and_swap_whose_write_is_not_visible_afterwards_is_not_linearizable() =>
        Assert.Equal(Verdict.NotLinearizable, Check(
            Put(1, "x", "1", 0, 1),
            Cas(2, "x", "1", "2", swapped: true, 2, 3),
            Get(3, "x", "1", 4, 5)));

    [Fact]
    public void Compare_and_swap_chain_is_linearizable() =>
        Assert.Equal(Verdict.Linearizable, Check(
            Cas(1, "x", null, "1", swapped: true, 0, 1),
            Cas(2, "x", "1", "2", swapped: true, 2, 3),
            Cas(1, "x", "1", "3", swapped: false, 4, 5),
            Get(3, "x", "2", 6, 7)));

    [Fact]
    public void Delete_then_read_absent_is_linearizable() =>
        Assert.Equal(Verdict.Linearizable, Check(Put(1, "x", "1", 0, 1), Delete(1, "x", 2, 3), Get(2, "x", null, 4, 5)));

    [Theory]
    [InlineData("1")]
    [InlineData(null)]
    public void Pending_write_may_or_may_not_have_taken_effect(string? seen) =>
        Assert.Equal(Verdict.Linearizable, Check(PendingPut(1, "x", "1", 0), Get(2, "x", seen, 5, 6)));

    [Fact]
    public void Pending_write_once_seen_stays_visible() =>
        Assert.Equal(Verdict.NotLinearizable, Check(
            PendingPut(1, "x", "1", 0),
            Get(2, "x", "1", 5, 6),
            Get(2, "x", null, 7, 8)));

    [Fact]
    public void Pending_write_may_take_effect_long_after_its_caller_gave_up() =>
        Assert.Equal(Verdict.Linearizable, Check(
            PendingPut(1, "x", "1", 0),
            Get(2, "x", null, 5, 6),
            Get(2, "x", null, 7, 8),
            Get(2, "x", "1", 100, 101)));

    [Fact]
    public void Pending_write_cannot_be_seen_before_it_was_called() =>
        Assert.Equal(Verdict.NotLinearizable, Check(Get(2, "x", "1", 0, 1), PendingPut(1, "x", "1", 2)));

    [Fact]
    public void Pending_compare_and_swap_takes_effect_only_from_its_expected_value() =>
        Assert.Equal(Verdict.NotLinearizable, Check(
            Put(1, "x", "0", 0, 1),
            PendingCas(2, "x", "9", "1", 2),
            Get(3, "x", "1", 5, 6)));

    [Fact]
    public void Keys_are_checked_independently_and_the_report_names_the_failing_key()
    {
        var result = LinearizabilityChecker.Check(KvModel.Instance, [
            Put(1, "a", "1", 0, 1), Get(2, "a", "1", 2, 3),
            Put(1, "b", "1", 0, 1), Get(2, "b", null, 2, 3),
        ]);

        Assert.Equal(Verdict.NotLinearizable, result.Verdict);
        Assert.All(result.FailingPartition, line => Assert.Contains("(b", line, StringComparison.Ordinal));
        Assert.Contains("NotLinearizable", result.Explain(), StringComparison.Ordinal);
    }

    [Fact]
    public void Search_over_budget_answers_unknown_instead_of_hanging()
    {
        var result = LinearizabilityChecker.Check(
            KvModel.Instance,
            [Put(1, "x", "1", 0, 10), Put(2, "x", "2", 0, 10), Get(3, "x", "1", 11, 12)],
            maxStepsPerPartition: 1);

        Assert.Equal(Verdict.Unknown, result.Verdict);
    }

    [Fact]
    public void Many_concurrent_clients_on_one_key_are_checked_quickly()
    {
        // 400 operations, 8 clients always overlapping: without memoization this is hopeless.
        var random = new Random(7);
        var history = new List<Operation<KvInput, KvOutput>>();
        string? value = null;
        long time = 0;
        for (var i = 0; i < 400; i++)
        {
            var call = time;
            time += 2;
            // The operation takes effect now, in order; its interval spans a few neighbours.
            var ret = time + random.Next(0, 12);
            if (random.Next(2) == 0)
            {
                value = i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                history.Add(Put(i % 8, "x", value, call, ret));
            }
            else
            {
                history.Add(Get(i % 8, "x", value, call, ret));
            }
        }

        var result = LinearizabilityChecker.Check(KvModel.Instance, history, maxStepsPerPartition: 5_000_000);
        Assert.Equal(Verdict.Linearizable, result.Verdict);
    }
}
