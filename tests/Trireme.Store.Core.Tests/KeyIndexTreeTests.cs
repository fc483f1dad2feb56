// Proves the two-level sorted key index against a naive model (a sorted list): random inserts and
// removes across many leaf splits, then point lookups and every kind of range (single key,
// [key, end), from-key, empty and inverted ranges) must return exactly what the model returns.
using Trireme.Store.Core.Mvcc;

namespace Trireme.Store.Core.Tests;

public sealed class KeyIndexTreeTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Matches_a_naive_sorted_list(int seed)
    {
        var random = new Random(seed);
        var tree = new KeyIndexTree();
        var model = new SortedSet<byte[]>(ByteKeys.Instance);
        byte[] RandomKey() => [.. Enumerable.Range(0, random.Next(1, 4)).Select(_ => (byte)random.Next(0, 24))];

        for (int step = 0; step < 20_000; step++)
        {
            byte[] key = RandomKey();
            if (random.Next(4) == 0)
            {
                if (tree.Find(key) is { } found)
                {
                    tree.Remove(found);
                }

                model.Remove(key);
            }
            else
            {
                tree.GetOrAdd(key);
                model.Add(key);
            }
        }

        Assert.Equal(model.Count, tree.Count);
        Assert.Equal(model.Select(Hex), tree.All().Select(k => Hex(k.Key)));
        // Every key is found where it lives: the leaf directory followed every split, first-key
        // insert and first-key removal.
        Assert.All(model, key => Assert.Equal(Hex(key), tree.Find(key) is { } found ? Hex(found.Key) : "missing"));
        for (int i = 0; i < 300; i++)
        {
            byte[] key = RandomKey();
            byte[] end = random.Next(4) switch { 0 => [], 1 => [0], _ => RandomKey() };
            var expected = model.Where(k => ByteKeys.InRange(key, end, k)).Select(Hex);
            Assert.Equal(expected, tree.Range(key, end).Select(k => Hex(k.Key)));
            Assert.Equal(model.Contains(key), tree.Find(key) is not null);
        }
    }

    private static string Hex(byte[] key) => Convert.ToHexString(key);
}
