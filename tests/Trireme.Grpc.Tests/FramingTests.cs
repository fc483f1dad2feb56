// Proves the wire pieces in isolation: the length-prefixed frame decoder (whole, split at every
// byte, typed rejections), grpc-timeout in every unit, grpc-message percent-encoding, and the
// :authority normalisation and HPACK decoding used for etcd clients.
using System.Buffers;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Trireme.Grpc.Http2;

namespace Trireme.Grpc.Tests;

public sealed class FramingTests
{
    private static byte[] Frame(IMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        GrpcFraming.WriteMessage(buffer, message, int.MaxValue);
        return buffer.WrittenSpan.ToArray();
    }

    [Fact]
    public void A_frame_is_flag_then_big_endian_length_then_payload()
    {
        byte[] frame = Frame(new StringValue { Value = "hi" });
        Assert.Equal(new byte[] { 0, 0, 0, 0, 4, 0x0A, 2, (byte)'h', (byte)'i' }, frame);
    }

    [Fact]
    public void Decoder_needs_the_whole_frame_at_every_split_point()
    {
        byte[] frame = Frame(new StringValue { Value = "hello world" });
        for (int cut = 0; cut < frame.Length; cut++)
        {
            var partial = new SequenceReader<byte>(new ReadOnlySequence<byte>(frame, 0, cut));
            Assert.False(GrpcFraming.TryReadMessage(ref partial, 1024, out _));
            Assert.Equal(0, partial.Consumed);
        }

        var whole = new SequenceReader<byte>(new ReadOnlySequence<byte>(frame));
        Assert.True(GrpcFraming.TryReadMessage(ref whole, 1024, out var payload));
        Assert.Equal("hello world", StringValue.Parser.ParseFrom(payload).Value);
        Assert.Equal(frame.Length, whole.Consumed);
    }

    [Fact]
    public void Two_frames_in_one_buffer_are_read_one_after_the_other()
    {
        byte[] both = [.. Frame(new StringValue { Value = "a" }), .. Frame(new StringValue { Value = "b" })];
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(both));
        Assert.True(GrpcFraming.TryReadMessage(ref reader, 1024, out var first));
        Assert.True(GrpcFraming.TryReadMessage(ref reader, 1024, out var second));
        Assert.Equal("a", StringValue.Parser.ParseFrom(first).Value);
        Assert.Equal("b", StringValue.Parser.ParseFrom(second).Value);
        Assert.False(GrpcFraming.TryReadMessage(ref reader, 1024, out _));
    }

    [Theory]
    [InlineData(new byte[] { 1, 0, 0, 0, 0 }, FrameRejection.CompressedWithoutEncoding)]
    [InlineData(new byte[] { 2, 0, 0, 0, 0 }, FrameRejection.InvalidCompressedFlag)]
    [InlineData(new byte[] { 0, 0, 0, 4, 1 }, FrameRejection.MessageTooLarge)]
    [InlineData(new byte[] { 0, 0xFF, 0xFF, 0xFF, 0xFF }, FrameRejection.MessageTooLarge)]
    public void Bad_headers_are_typed_rejections(byte[] header, FrameRejection reason)
    {
        var error = Assert.Throws<GrpcFrameException>(() =>
        {
            var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(header));
            GrpcFraming.TryReadMessage(ref reader, 1024, out _);
        });
        Assert.Equal(reason, error.Reason);
    }

    [Fact]
    public void Exactly_the_limit_is_accepted()
    {
        byte[] frame = [0, 0, 0, 4, 0, .. new byte[1024]];
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(frame));
        Assert.True(GrpcFraming.TryReadMessage(ref reader, 1024, out var payload));
        Assert.Equal(1024, payload.Length);
    }

    [Theory]
    [InlineData("1H", 36_000_000_000L)]
    [InlineData("2M", 1_200_000_000L)]
    [InlineData("3S", 30_000_000L)]
    [InlineData("250m", 2_500_000L)]
    [InlineData("7u", 70L)]
    [InlineData("1500n", 15L)]
    [InlineData("99999999S", 999_999_990_000_000L)]
    public void Grpc_timeout_parses_every_unit(string header, long ticks)
    {
        Assert.True(GrpcTimeout.TryParse(header, out var timeout));
        Assert.Equal(ticks, timeout.Ticks);
    }

    [Theory]
    [InlineData("")]
    [InlineData("S")]
    [InlineData("10")]
    [InlineData("10x")]
    [InlineData("-1S")]
    [InlineData("123456789S")]
    [InlineData("1 S")]
    public void Malformed_grpc_timeout_is_rejected(string header) => Assert.False(GrpcTimeout.TryParse(header, out _));

    [Theory]
    [InlineData(0L)]
    [InlineData(10L)]
    [InlineData(TimeSpan.TicksPerSecond * 5)]
    [InlineData(TimeSpan.TicksPerDay * 400)]
    public void Formatted_timeouts_parse_back_within_the_unit(long ticks)
    {
        string header = GrpcTimeout.Format(TimeSpan.FromTicks(ticks));
        Assert.True(header.Length <= 9);
        Assert.True(GrpcTimeout.TryParse(header, out var parsed));
        Assert.True(parsed.Ticks <= ticks && parsed.Ticks >= ticks * 0.99 - 10);
    }

    [Theory]
    [InlineData("plain message", "plain message")]
    [InlineData("100%", "100%25")]
    [InlineData("ünï\n", "%C3%BCn%C3%AF%0A")]
    public void Grpc_message_is_percent_encoded_utf8(string message, string encoded)
    {
        Assert.Equal(encoded, GrpcStatusMessage.Encode(message));
        Assert.Equal(message, GrpcStatusMessage.Decode(encoded));
    }

    [Theory]
    [InlineData("%")]
    [InlineData("%4")]
    [InlineData("%ZZ")]
    public void Malformed_escapes_decode_leniently(string encoded) => Assert.Equal(encoded, GrpcStatusMessage.Decode(encoded));

    [Theory]
    [InlineData("http://127.0.0.1:2379", "127.0.0.1:2379")]
    [InlineData("https://node-1:2379/", "node-1:2379")]
    [InlineData("127.0.0.1:2379", "127.0.0.1:2379")]
    public void Url_shaped_authority_is_normalised(string authority, string expected) =>
        Assert.Equal(expected, System.Text.Encoding.ASCII.GetString(AuthorityRewriter.NormalizeAuthority(System.Text.Encoding.ASCII.GetBytes(authority))));

    [Fact]
    public void Hpack_decodes_the_rfc_7541_c4_request_examples_with_huffman_and_dynamic_table()
    {
        // RFC 7541 Appendix C.4: three requests on one connection, Huffman-coded, sharing the dynamic table.
        var decoder = new HpackDecoder();
        var first = decoder.Decode(Convert.FromHexString("828684418cf1e3c2e5f23a6ba0ab90f4ff"));
        Assert.Equal([":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"], Text(first));
        var second = decoder.Decode(Convert.FromHexString("828684be5886a8eb10649cbf"));
        Assert.Equal([":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com", "cache-control: no-cache"], Text(second));
        var third = decoder.Decode(Convert.FromHexString("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"));
        Assert.Equal([":method: GET", ":scheme: https", ":path: /index.html", ":authority: www.example.com", "custom-key: custom-value"], Text(third));
    }

    [Fact]
    public void Authority_rewriter_passes_blocks_through_until_one_has_a_url_authority_then_re_encodes_every_block()
    {
        // Client side: RFC 7541 C.4's three Huffman-coded requests (sharing a dynamic table), with a
        // URL-shaped :authority (literal, incremental indexing) sent between the second and third.
        byte[][] blocks =
        [
            Convert.FromHexString("828684418cf1e3c2e5f23a6ba0ab90f4ff"),
            Convert.FromHexString("828684be5886a8eb10649cbf"),
            [0x82, 0x86, 0x84, 0x41, 0x15, .. "http://127.0.0.1:2379"u8],
            Convert.FromHexString("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"),
        ];
        var input = new List<byte>("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray());
        uint stream = 1;
        foreach (byte[] block in blocks)
        {
            // HEADERS with END_HEADERS | PADDED and two bytes of padding: the rewriter must cut them.
            int length = 1 + block.Length + 2;
            input.AddRange([(byte)(length >> 16), (byte)(length >> 8), (byte)length, 0x1, 0x4 | 0x8,
                0, 0, 0, (byte)stream, 2, .. block, 0, 0]);
            stream += 2;
        }

        // A DATA frame passes through byte for byte.
        input.AddRange([0, 0, 3, 0x0, 0x1, 0, 0, 0, 1, 7, 8, 9]);
        var state = new AuthorityRewriter.ConnectionState();
        var sequence = new System.Buffers.ReadOnlySequence<byte>(input.ToArray());
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        Assert.Equal(sequence.End, AuthorityRewriter.Process(state, ref sequence, output));

        // Server side: what Kestrel would decode, with its own decoder over the rewriter's output.
        ReadOnlySpan<byte> written = output.WrittenSpan;
        Assert.True(written.StartsWith("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8));
        written = written[24..];
        var server = new HpackDecoder();
        var decoded = new List<string[]>();
        var payloads = new List<byte[]>();
        while (written.Length >= 9)
        {
            int length = (written[0] << 16) | (written[1] << 8) | written[2];
            byte[] payload = written.Slice(9, length).ToArray();
            if (written[3] == 0x1)
            {
                Assert.Equal(0x4, written[4] & 0x4);
                payloads.Add(payload);
                decoded.Add(Text(server.Decode(payload)));
            }
            else
            {
                Assert.Equal([0, 0, 3, 0x0, 0x1, 0, 0, 0, 1, 7, 8, 9], written[..12].ToArray());
            }

            written = written[(9 + length)..];
        }

        // Kestrel must see exactly the fields the client meant (as a decoder of the client's own blocks
        // reads them), the URL authority cut to host:port; the first two blocks unchanged on the wire.
        var client = new HpackDecoder();
        string[][] meant = [.. blocks.Select(b => Text(client.Decode(b)).Select(f => f.Replace("http://", "", StringComparison.Ordinal)).ToArray())];
        Assert.Equal(0, written.Length);
        Assert.Equal(meant, decoded);
        Assert.Equal([":method: GET", ":scheme: http", ":path: /", ":authority: 127.0.0.1:2379"], decoded[2]);
        Assert.Equal(blocks[0], payloads[0]);
        Assert.Equal(blocks[1], payloads[1]);
        Assert.NotEqual(blocks[3], payloads[3]); // re-encoded: it indexes the table entry block 3 added
    }

    private static string[] Text(List<(byte[] Name, byte[] Value)> fields) =>
        fields.Select(f => System.Text.Encoding.ASCII.GetString(f.Name) + ": " + System.Text.Encoding.ASCII.GetString(f.Value)).ToArray();
}
