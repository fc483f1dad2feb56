using Trireme.Raft.Core;

namespace Trireme.Raft.Tests;

// Unit tests of the in-memory log and the in-flight ring underneath RaftNode: the conflict-term search
// used for fast backtracking, suffix truncation on conflict, the durability watermark when a suffix is
// replaced while a Ready is outstanding, and the invariants (commit never decreases, committed entries
// are never truncated) that throw RaftInvariantException.
public sealed class RaftLogTests
{
    private static RaftLog LogWithTerms(params ulong[] terms)
    {
        var log = new RaftLog();
        var entries = terms.Select((t, i) => new Entry(t, (ulong)i + 1, EntryType.Normal, default)).ToArray();
        log.Restore(null, entries, 0);
        return log;
    }

    [Fact]
    public void FindConflictByTerm_returns_the_last_index_whose_term_is_not_above_the_given_term()
    {
        var log = LogWithTerms(1, 1, 2, 2, 5, 5, 5);
        Assert.Equal(7UL, log.FindConflictByTerm(7, 5));
        Assert.Equal(4UL, log.FindConflictByTerm(7, 4));
        Assert.Equal(4UL, log.FindConflictByTerm(7, 2));
        Assert.Equal(2UL, log.FindConflictByTerm(7, 1));
        Assert.Equal(0UL, log.FindConflictByTerm(7, 0));
        Assert.Equal(9UL, log.FindConflictByTerm(9, 1)); // beyond the log: unchanged
    }

    [Fact]
    public void AppendAfter_skips_matching_entries_and_truncates_from_the_first_conflict()
    {
        var log = LogWithTerms(1, 1, 1, 1);
        var last = log.AppendAfter(1, [new Entry(1, 2, EntryType.Normal, default), new Entry(3, 3, EntryType.Normal, default)]);
        Assert.Equal(3UL, last);
        Assert.Equal(3UL, log.LastIndex);
        Assert.Equal(3UL, log.Term(3));
        Assert.Equal(2UL, log.Stable); // the replaced suffix is no longer durable
    }

    [Fact]
    public void Truncating_a_committed_entry_throws()
    {
        var log = LogWithTerms(1, 1, 1);
        log.CommitTo(3);
        Assert.Throws<RaftInvariantException>(() => log.AppendAfter(1, [new Entry(2, 2, EntryType.Normal, default)]));
    }

    [Fact]
    public void Commit_going_backwards_or_past_the_log_throws()
    {
        var log = LogWithTerms(1, 1, 1);
        log.CommitTo(2);
        Assert.Throws<RaftInvariantException>(() => log.CommitTo(1));
        Assert.Throws<RaftInvariantException>(() => log.CommitTo(4));
    }

    [Fact]
    public void StableTo_does_not_mark_entries_replaced_after_their_Ready_was_taken()
    {
        var log = new RaftLog();
        log.Append(new Entry(1, 1, EntryType.Normal, default));
        log.Append(new Entry(1, 2, EntryType.Normal, default));
        var handedOut = log.UnstableEntries();
        Assert.Equal(2, handedOut.Length);
        log.AppendAfter(1, [new Entry(2, 2, EntryType.Normal, default)]); // replaces index 2 meanwhile
        log.StableTo(2);
        Assert.Equal(1UL, log.Stable);
        Assert.Equal([new Entry(2, 2, EntryType.Normal, default)], log.UnstableEntries());
    }

    [Fact]
    public void Slice_respects_the_byte_limit_but_always_returns_one_entry()
    {
        var log = new RaftLog();
        for (ulong i = 1; i <= 10; i++)
        {
            log.Append(new Entry(1, i, EntryType.Normal, new byte[100]));
        }

        Assert.Single(log.Slice(1, 1, int.MaxValue));
        Assert.Equal(3, log.Slice(1, 3 * (100 + Entry.OverheadBytes), int.MaxValue).Length);
        Assert.Equal(10, log.Slice(1, long.MaxValue, int.MaxValue).Length);
        Assert.Empty(log.Slice(11, long.MaxValue, int.MaxValue));
    }

    [Fact]
    public void Inflights_are_bounded_by_count_and_bytes_and_freed_by_acks()
    {
        var inflights = new Inflights(capacity: 3, maxBytes: 1000);
        inflights.Add(5, 100);
        inflights.Add(7, 100);
        Assert.False(inflights.Full);
        inflights.Add(9, 100);
        Assert.True(inflights.Full);
        inflights.FreeLE(7);
        Assert.Equal(1, inflights.Count);
        Assert.Equal(100, inflights.Bytes);
        inflights.Add(12, 900);
        Assert.True(inflights.Full); // by bytes
        inflights.FreeFirstOne();
        Assert.Equal(1, inflights.Count);
        Assert.Equal(900, inflights.Bytes);
    }
}
