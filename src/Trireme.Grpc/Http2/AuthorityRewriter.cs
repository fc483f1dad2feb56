using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Trireme.Grpc.Http2;

/// <summary>
/// Why this exists: etcd 3.4's clientv3 dials a single endpoint (etcdctl endpoint status, snapshot,
/// defrag, move-leader) with the whole URL as the HTTP/2 :authority ("http://127.0.0.1:2379").
/// grpc-go servers accept that; Kestrel resets the stream as an invalid Host, with no opt-out. This
/// connection middleware sits between the transport (after TLS) and Kestrel's HTTP/2 parser and
/// decodes every request header block (mirroring the client's HPACK dynamic table). Blocks pass to
/// Kestrel unchanged, so its dynamic table stays in step with the client's, until one carries a URL
/// :authority. From that block on, every block of the connection is re-encoded: "scheme://" and a
/// trailing '/' are stripped from :authority and the fields go to Kestrel as plain literals that never
/// touch its dynamic table (which the client's later blocks no longer match). Every other frame passes
/// through byte for byte; a connection that does not start with the HTTP/2 preface passes through untouched.
/// </summary>
public static class AuthorityRewriter
{
    /// <summary>Frames larger than this are refused (Kestrel's max frame size is 16 KiB unless raised).</summary>
    public const int MaxFrameBytes = 1024 * 1024;

    /// <summary>A header block (HEADERS + CONTINUATIONs) larger than this closes the connection.</summary>
    public const int MaxHeaderBlockBytes = 256 * 1024;

    /// <summary>Frame size used for the re-encoded blocks: the HTTP/2 default every server accepts.</summary>
    private const int OutputFrameBytes = 16 * 1024;

    private static readonly byte[] Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8.ToArray();

    /// <summary>Adds the rewriter to a Kestrel endpoint; call after UseHttps so it sees plaintext.</summary>
    public static ListenOptions UseAuthorityRewriter(this ListenOptions listen)
    {
        ArgumentNullException.ThrowIfNull(listen);
        listen.Use(next => async connection =>
        {
            IDuplexPipe transport = connection.Transport;
            var rewritten = new Pipe(new PipeOptions(pauseWriterThreshold: 1024 * 1024, resumeWriterThreshold: 512 * 1024, useSynchronizationContext: false));
            Task pump = PumpAsync(transport.Input, rewritten.Writer);
            connection.Transport = new DuplexPipe(rewritten.Reader, transport.Output);
            try
            {
                await next(connection).ConfigureAwait(false);
            }
            finally
            {
                connection.Transport = transport;
                transport.Input.CancelPendingRead();
                await pump.ConfigureAwait(false);
            }
        });
        return listen;
    }

    private static async Task PumpAsync(PipeReader input, PipeWriter output)
    {
        Exception? failure = null;
        try
        {
            var state = new ConnectionState();
            while (true)
            {
                ReadResult result = await input.ReadAsync().ConfigureAwait(false);
                ReadOnlySequence<byte> buffer = result.Buffer;
                SequencePosition consumed = Process(state, ref buffer, output);
                input.AdvanceTo(consumed, result.Buffer.End);
                FlushResult flush = await output.FlushAsync().ConfigureAwait(false);
                if (result.IsCompleted || result.IsCanceled || flush.IsCompleted)
                {
                    break;
                }
            }
        }
#pragma warning disable CA1031 // Any failure ends this connection only; Kestrel sees it as a transport error.
        catch (Exception e)
#pragma warning restore CA1031
        {
            failure = e;
        }

        await output.CompleteAsync(failure).ConfigureAwait(false);
        await input.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>Consumes whole units (preface, frames) from <paramref name="buffer"/>; returns the consumed position.</summary>
    internal static SequencePosition Process(ConnectionState state, ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output)
    {
        var reader = new SequenceReader<byte>(buffer);
        if (state.Mode == Mode.Start)
        {
            if (reader.Remaining < Preface.Length)
            {
                // Decide as soon as the bytes so far cannot be the preface.
                Span<byte> head = stackalloc byte[(int)reader.Remaining];
                reader.TryCopyTo(head);
                if (!Preface.AsSpan(0, head.Length).SequenceEqual(head))
                {
                    state.Mode = Mode.PassThrough;
                }
                else
                {
                    return buffer.Start;
                }
            }
            else
            {
                state.Mode = reader.IsNext(Preface, advancePast: false) ? Mode.Frames : Mode.PassThrough;
            }

            if (state.Mode == Mode.Frames)
            {
                output.Write(Preface);
                reader.Advance(Preface.Length);
            }
        }

        if (state.Mode == Mode.PassThrough)
        {
            foreach (ReadOnlyMemory<byte> segment in reader.UnreadSequence)
            {
                output.Write(segment.Span);
            }

            return buffer.End;
        }

        while (TryReadFrame(ref reader, out FrameHeader header, out ReadOnlySequence<byte> payload))
        {
            HandleFrame(state, header, payload, output);
        }

        return reader.Position;
    }

    private static bool TryReadFrame(ref SequenceReader<byte> reader, out FrameHeader header, out ReadOnlySequence<byte> payload)
    {
        header = default;
        payload = default;
        if (reader.Remaining < 9)
        {
            return false;
        }

        Span<byte> raw = stackalloc byte[9];
        reader.TryCopyTo(raw);
        int length = (raw[0] << 16) | (raw[1] << 8) | raw[2];
        if (length > MaxFrameBytes)
        {
            throw new HpackException($"HTTP/2 frame of {length} bytes is over {MaxFrameBytes}");
        }

        if (reader.Remaining < 9 + length)
        {
            return false;
        }

        header = new FrameHeader(length, raw[3], raw[4], BinaryPrimitives.ReadUInt32BigEndian(raw[5..]) & 0x7FFFFFFF,
            reader.UnreadSequence.Slice(0, 9));
        reader.Advance(9);
        payload = reader.UnreadSequence.Slice(0, length);
        reader.Advance(length);
        return true;
    }

    private const byte TypeHeaders = 0x1;
    private const byte TypeContinuation = 0x9;
    private const byte FlagEndStream = 0x1;
    private const byte FlagEndHeaders = 0x4;
    private const byte FlagPadded = 0x8;
    private const byte FlagPriority = 0x20;

    private static void HandleFrame(ConnectionState state, FrameHeader header, ReadOnlySequence<byte> payload, IBufferWriter<byte> output)
    {
        if (header.Type == TypeHeaders)
        {
            // The payload goes straight into the connection's block buffer; padding and priority
            // fields are then cut out in place.
            state.Block.SetLength(0);
            foreach (ReadOnlyMemory<byte> segment in payload)
            {
                state.Block.Write(segment.Span);
            }

            byte[] fragment = state.Block.GetBuffer();
            int start = 0;
            int end = (int)state.Block.Length;
            if ((header.Flags & FlagPadded) != 0)
            {
                if (end < 1 || fragment[0] >= end)
                {
                    throw new HpackException("HEADERS padding is longer than the frame");
                }

                end -= fragment[0];
                start = 1;
            }

            if ((header.Flags & FlagPriority) != 0)
            {
                // Stream priority is advisory and deprecated (RFC 9113): dropped.
                start += 5;
                if (start > end)
                {
                    throw new HpackException("HEADERS frame too short for its priority fields");
                }
            }

            if (start > 0 || end < state.Block.Length)
            {
                Buffer.BlockCopy(fragment, start, fragment, 0, end - start);
                state.Block.SetLength(end - start);
                state.Block.Position = end - start;
            }

            state.BlockStreamId = header.StreamId;
            state.BlockEndStream = (header.Flags & FlagEndStream) != 0;
            if ((header.Flags & FlagEndHeaders) != 0)
            {
                EmitBlock(state, output);
            }
            else
            {
                state.InBlock = true;
            }

            return;
        }

        if (header.Type == TypeContinuation && state.InBlock)
        {
            if (header.StreamId != state.BlockStreamId || state.Block.Length + header.Length > MaxHeaderBlockBytes)
            {
                throw new HpackException("CONTINUATION out of sequence or header block too large");
            }

            foreach (ReadOnlyMemory<byte> segment in payload)
            {
                state.Block.Write(segment.Span);
            }

            if ((header.Flags & FlagEndHeaders) != 0)
            {
                state.InBlock = false;
                EmitBlock(state, output);
            }

            return;
        }

        foreach (ReadOnlyMemory<byte> segment in header.Raw)
        {
            output.Write(segment.Span);
        }

        foreach (ReadOnlyMemory<byte> segment in payload)
        {
            output.Write(segment.Span);
        }
    }

    private static void EmitBlock(ConnectionState state, IBufferWriter<byte> output)
    {
        ReadOnlySpan<byte> original = state.Block.GetBuffer().AsSpan(0, (int)state.Block.Length);
        var fields = state.Decoder.Decode(original);
        if (!state.Rewriting && !HasUrlAuthority(fields))
        {
            // Kestrel decodes the same bytes the client encoded: its dynamic table stays in step.
            WriteBlockFrames(state, original, output);
            return;
        }

        state.Rewriting = true;
        var block = new ArrayBufferWriter<byte>(256);
        foreach (var (name, value) in fields)
        {
            byte[] v = IsAuthority(name) ? NormalizeAuthority(value) : value;
            // Literal header field without indexing, new name (RFC 7541 6.2.2), no Huffman.
            block.Write<byte>([0x00]);
            WriteString(block, name);
            WriteString(block, v);
        }

        WriteBlockFrames(state, block.WrittenSpan, output);
    }

    private static bool IsAuthority(byte[] name) => name.AsSpan().SequenceEqual(":authority"u8);

    private static bool HasUrlAuthority(List<(byte[] Name, byte[] Value)> fields)
    {
        foreach (var (name, value) in fields)
        {
            if (IsAuthority(name) && !ReferenceEquals(NormalizeAuthority(value), value))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A header block as HEADERS (+ CONTINUATION) frames of at most <see cref="OutputFrameBytes"/>.</summary>
    private static void WriteBlockFrames(ConnectionState state, ReadOnlySpan<byte> encoded, IBufferWriter<byte> output)
    {
        bool first = true;
        do
        {
            int chunk = Math.Min(encoded.Length, OutputFrameBytes);
            bool last = chunk == encoded.Length;
            byte flags = (byte)((last ? FlagEndHeaders : 0) | (first && state.BlockEndStream ? FlagEndStream : 0));
            WriteFrameHeader(output, chunk, first ? TypeHeaders : TypeContinuation, flags, state.BlockStreamId);
            output.Write(encoded[..chunk]);
            encoded = encoded[chunk..];
            first = false;
        }
        while (encoded.Length > 0);
    }

    /// <summary>"http://host:port/" → "host:port"; anything else is returned unchanged.</summary>
    public static byte[] NormalizeAuthority(byte[] authority)
    {
        ArgumentNullException.ThrowIfNull(authority);
        ReadOnlySpan<byte> value = authority;
        int scheme = value.IndexOf("://"u8);
        if (scheme < 0)
        {
            return authority;
        }

        value = value[(scheme + 3)..];
        int slash = value.IndexOf((byte)'/');
        return (slash >= 0 ? value[..slash] : value).ToArray();
    }

    private static void WriteString(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        WriteInteger(output, value.Length, 7, 0x00);
        output.Write(value);
    }

    private static void WriteInteger(IBufferWriter<byte> output, int value, int prefixBits, byte prefix)
    {
        int max = (1 << prefixBits) - 1;
        if (value < max)
        {
            output.Write<byte>([(byte)(prefix | value)]);
            return;
        }

        output.Write<byte>([(byte)(prefix | max)]);
        value -= max;
        while (value >= 0x80)
        {
            output.Write<byte>([(byte)((value & 0x7F) | 0x80)]);
            value >>= 7;
        }

        output.Write<byte>([(byte)value]);
    }

    private static void WriteFrameHeader(IBufferWriter<byte> output, int length, byte type, byte flags, uint streamId)
    {
        Span<byte> header = stackalloc byte[9];
        header[0] = (byte)(length >> 16);
        header[1] = (byte)(length >> 8);
        header[2] = (byte)length;
        header[3] = type;
        header[4] = flags;
        BinaryPrimitives.WriteUInt32BigEndian(header[5..], streamId);
        output.Write(header);
    }

    internal enum Mode
    {
        Start,
        Frames,
        PassThrough,
    }

    internal sealed class ConnectionState
    {
        public Mode Mode { get; set; } = Mode.Start;

        public HpackDecoder Decoder { get; } = new();

        public MemoryStream Block { get; } = new();

        public uint BlockStreamId { get; set; }

        public bool BlockEndStream { get; set; }

        public bool InBlock { get; set; }

        /// <summary>Set once a block had to be rewritten: every later block is re-encoded too.</summary>
        public bool Rewriting { get; set; }
    }

    /// <summary>A frame's 9-byte header, parsed; <see cref="Raw"/> is the original bytes, still in the input.</summary>
    private readonly record struct FrameHeader(int Length, byte Type, byte Flags, uint StreamId, ReadOnlySequence<byte> Raw);

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
