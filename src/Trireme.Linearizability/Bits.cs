namespace Trireme.Linearizability;

/// <summary>A fixed-size bit set compared by value: the "which operations are linearized" half of a
/// memo key.</summary>
internal sealed class Bits : IEquatable<Bits>
{
    private readonly ulong[] _words;

    public Bits(int count) => _words = new ulong[(count + 63) / 64];

    private Bits(ulong[] words) => _words = words;

    public void Set(int index) => _words[index >> 6] |= 1UL << (index & 63);

    public void Clear(int index) => _words[index >> 6] &= ~(1UL << (index & 63));

    public bool Get(int index) => (_words[index >> 6] & (1UL << (index & 63))) != 0;

    public Bits Copy() => new((ulong[])_words.Clone());

    public bool Equals(Bits? other) => other is not null && _words.AsSpan().SequenceEqual(other._words);

    public override bool Equals(object? obj) => Equals(obj as Bits);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var word in _words)
        {
            hash.Add(word);
        }

        return hash.ToHashCode();
    }
}
