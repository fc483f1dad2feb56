namespace Trireme.Grpc.Http2;

/// <summary>Bad HPACK input from the wire (RFC 7541): the connection is a protocol error and is closed.</summary>
public sealed class HpackException : Exception
{
    public HpackException(string message)
        : base(message)
    {
    }

    public HpackException()
        : this("malformed HPACK header block")
    {
    }

    public HpackException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// Decodes the header blocks one HTTP/2 client sends on one connection (RFC 7541): static table,
/// the connection's dynamic table, integers, literal and Huffman strings. Mirrors the peer's
/// encoder state, so it must see every block of the connection in order.
/// </summary>
public sealed class HpackDecoder
{
    /// <summary>Largest dynamic table the peer may ask for: Kestrel advertises 4096; allow headroom.</summary>
    public const int MaxDynamicTableBytes = 64 * 1024;

    /// <summary>Largest string accepted in a header block (a name or a value).</summary>
    public const int MaxStringBytes = 64 * 1024;

    private static readonly HuffmanNode HuffmanRoot = BuildHuffmanTree();
    private readonly List<(byte[] Name, byte[] Value)> _dynamic = []; // newest first
    private int _dynamicBytes;
    private int _dynamicMaxBytes = 4096;

    /// <summary>Decodes one complete header block into (name, value) pairs, updating the dynamic table.</summary>
    public List<(byte[] Name, byte[] Value)> Decode(ReadOnlySpan<byte> block)
    {
        var fields = new List<(byte[] Name, byte[] Value)>(16); // a gRPC request has about ten
        int position = 0;
        while (position < block.Length)
        {
            byte first = block[position];
            if ((first & 0x80) != 0)
            {
                int index = ReadInteger(block, ref position, 7);
                fields.Add(Lookup(index));
            }
            else if ((first & 0x40) != 0)
            {
                var field = ReadLiteral(block, ref position, 6);
                Insert(field);
                fields.Add(field);
            }
            else if ((first & 0x20) != 0)
            {
                int size = ReadInteger(block, ref position, 5);
                if (size > MaxDynamicTableBytes)
                {
                    throw new HpackException($"dynamic table size update {size} is over {MaxDynamicTableBytes}");
                }

                _dynamicMaxBytes = size;
                Evict();
            }
            else
            {
                // Literal without indexing (0000) or never indexed (0001): same decoding.
                fields.Add(ReadLiteral(block, ref position, 4));
            }
        }

        return fields;
    }

    private (byte[] Name, byte[] Value) ReadLiteral(ReadOnlySpan<byte> block, ref int position, int prefixBits)
    {
        int nameIndex = ReadInteger(block, ref position, prefixBits);
        byte[] name = nameIndex == 0 ? ReadString(block, ref position) : Lookup(nameIndex).Name;
        byte[] value = ReadString(block, ref position);
        return (name, value);
    }

    private (byte[] Name, byte[] Value) Lookup(int index)
    {
        if (index <= 0)
        {
            throw new HpackException("header index 0 is invalid");
        }

        if (index <= HpackStaticTable.Entries.Length)
        {
            return HpackStaticTable.Entries[index - 1];
        }

        int dynamicIndex = index - HpackStaticTable.Entries.Length - 1;
        if (dynamicIndex >= _dynamic.Count)
        {
            throw new HpackException($"header index {index} is beyond the dynamic table");
        }

        return _dynamic[dynamicIndex];
    }

    private void Insert((byte[] Name, byte[] Value) field)
    {
        int size = field.Name.Length + field.Value.Length + 32;
        if (size > _dynamicMaxBytes)
        {
            // An entry larger than the table empties it (RFC 7541 4.4).
            _dynamic.Clear();
            _dynamicBytes = 0;
            return;
        }

        _dynamic.Insert(0, field);
        _dynamicBytes += size;
        Evict();
    }

    private void Evict()
    {
        while (_dynamicBytes > _dynamicMaxBytes && _dynamic.Count > 0)
        {
            var last = _dynamic[^1];
            _dynamicBytes -= last.Name.Length + last.Value.Length + 32;
            _dynamic.RemoveAt(_dynamic.Count - 1);
        }
    }

    private static int ReadInteger(ReadOnlySpan<byte> block, ref int position, int prefixBits)
    {
        int mask = (1 << prefixBits) - 1;
        int value = block[position++] & mask;
        if (value < mask)
        {
            return value;
        }

        int shift = 0;
        while (true)
        {
            if (position >= block.Length)
            {
                throw new HpackException("header block ends inside an integer");
            }

            byte b = block[position++];
            value += (b & 0x7F) << shift;
            shift += 7;
            if ((b & 0x80) == 0)
            {
                return value;
            }

            if (shift > 21)
            {
                throw new HpackException("HPACK integer is too large");
            }
        }
    }

    private static byte[] ReadString(ReadOnlySpan<byte> block, ref int position)
    {
        if (position >= block.Length)
        {
            throw new HpackException("header block ends before a string");
        }

        bool huffman = (block[position] & 0x80) != 0;
        int length = ReadInteger(block, ref position, 7);
        if (length > MaxStringBytes || length > block.Length - position)
        {
            throw new HpackException($"header string of {length} bytes does not fit");
        }

        ReadOnlySpan<byte> raw = block.Slice(position, length);
        position += length;
        return huffman ? DecodeHuffman(raw) : raw.ToArray();
    }

    /// <summary>Decodes a Huffman string bit by bit; padding must be at most 7 one-bits (RFC 7541 5.2).</summary>
    public static byte[] DecodeHuffman(ReadOnlySpan<byte> encoded)
    {
        var output = new List<byte>(encoded.Length * 8 / 5);
        HuffmanNode node = HuffmanRoot;
        int bitsSinceSymbol = 0;
        bool allOnes = true;
        foreach (byte b in encoded)
        {
            for (int bit = 7; bit >= 0; bit--)
            {
                int one = (b >> bit) & 1;
                node = (one == 1 ? node.One : node.Zero) ?? throw new HpackException("invalid Huffman code");
                bitsSinceSymbol++;
                allOnes &= one == 1;
                if (node.Symbol >= 0)
                {
                    output.Add((byte)node.Symbol);
                    node = HuffmanRoot;
                    bitsSinceSymbol = 0;
                    allOnes = true;
                }
            }
        }

        if (bitsSinceSymbol > 7 || !allOnes)
        {
            throw new HpackException("invalid Huffman padding");
        }

        return output.ToArray();
    }

    private static HuffmanNode BuildHuffmanTree()
    {
        var root = new HuffmanNode();
        for (int symbol = 0; symbol < 256; symbol++)
        {
            var (code, bits) = HpackHuffmanTable.Codes[symbol];
            HuffmanNode node = root;
            for (int bit = bits - 1; bit >= 0; bit--)
            {
                if (((code >> bit) & 1) == 1)
                {
                    node = node.One ??= new HuffmanNode();
                }
                else
                {
                    node = node.Zero ??= new HuffmanNode();
                }
            }

            node.Symbol = symbol;
        }

        return root;
    }

    private sealed class HuffmanNode
    {
        public HuffmanNode? Zero;
        public HuffmanNode? One;
        public int Symbol = -1;
    }
}
