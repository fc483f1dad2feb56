using Trireme.Raft.Core;

namespace Trireme.Raft.Simulation;

/// <summary>
/// 64-bit fingerprints the checkers compare instead of whole logs. A log prefix's hash chains every
/// entry's (index, term, type, data) onto the previous prefix, so two logs agree up to index i exactly
/// when (barring a 2^-64 collision) their prefix hashes at i agree: log matching in O(1) per entry.
/// </summary>
internal static class Hashing
{
    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    public static ulong Data(ReadOnlySpan<byte> data)
    {
        var hash = FnvOffset;
        foreach (var b in data)
        {
            hash = (hash ^ b) * FnvPrime;
        }

        return hash;
    }

    public static ulong Text(string text)
    {
        var hash = FnvOffset;
        foreach (var c in text)
        {
            hash = (hash ^ c) * FnvPrime;
        }

        return hash;
    }

    public static ulong Entry(in Entry entry) =>
        Mix(Mix(entry.Term ^ ((ulong)entry.Type << 56)) ^ Data(entry.Data.Span));

    public static ulong Prefix(ulong previousPrefix, in Entry entry) =>
        Mix(previousPrefix ^ Mix(entry.Index) ^ Entry(entry));

    /// <summary>A prefix hash for a snapshot whose entries no checker has seen (only when a core hands
    /// out a snapshot of entries never durable anywhere: itself a bug worth seeing as a mismatch).</summary>
    public static ulong UnanchoredSnapshot(ulong index, ulong term) => Mix(Mix(index) ^ term ^ 0x5A5A5A5A5A5A5A5AUL);

    public static ulong Mix(ulong x)
    {
        // splitmix64's finalizer: cheap and well distributed.
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return x;
    }
}
