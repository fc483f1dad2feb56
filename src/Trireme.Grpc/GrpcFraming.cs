using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

namespace Trireme.Grpc;

/// <summary>
/// gRPC's length-prefixed message: 1 byte compressed flag, 4 bytes big-endian length, then the
/// protobuf payload. Parsing is synchronous over a <see cref="SequenceReader{T}"/> so the same code
/// serves Kestrel's request pipe, HttpClient's response stream and the fuzz test.
/// </summary>
public static class GrpcFraming
{
    public const int HeaderBytes = 5;

    /// <summary>
    /// Reads one whole message. Returns false, leaving the reader where it was, when more bytes are
    /// needed. Throws <see cref="GrpcFrameException"/> (only) for a frame that can never be valid.
    /// </summary>
    public static bool TryReadMessage(ref SequenceReader<byte> reader, int maxMessageBytes, out ReadOnlySequence<byte> payload)
    {
        payload = default;
        if (reader.Remaining < HeaderBytes)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[HeaderBytes];
        reader.TryCopyTo(header);
        byte compressed = header[0];
        uint length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (compressed == 1)
        {
            throw new GrpcFrameException(FrameRejection.CompressedWithoutEncoding, "grpc: compressed flag set with identity or empty encoding");
        }

        if (compressed != 0)
        {
            throw new GrpcFrameException(FrameRejection.InvalidCompressedFlag, $"grpc: received unexpected payload format {compressed}");
        }

        if (length > (uint)maxMessageBytes)
        {
            throw new GrpcFrameException(FrameRejection.MessageTooLarge, $"grpc: received message larger than max ({length} vs. {maxMessageBytes})");
        }

        if (reader.Remaining - HeaderBytes < length)
        {
            return false;
        }

        reader.Advance(HeaderBytes);
        payload = reader.UnreadSequence.Slice(0, length);
        reader.Advance(length);
        return true;
    }

    /// <summary>Parses a payload as <typeparamref name="T"/>, turning protobuf errors into a typed rejection.</summary>
    public static T ParsePayload<T>(MessageParser<T> parser, in ReadOnlySequence<byte> payload)
        where T : IMessage<T>
    {
        ArgumentNullException.ThrowIfNull(parser);
        try
        {
            return parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new GrpcFrameException($"grpc: failed to unmarshal the received message: {e.Message}", e);
        }
    }

    /// <summary>Writes header and payload of <paramref name="message"/>; throws RESOURCE_EXHAUSTED over the send limit.</summary>
    public static void WriteMessage(IBufferWriter<byte> writer, IMessage message, int maxMessageBytes)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(message);
        int size = message.CalculateSize();
        if (size > maxMessageBytes)
        {
            throw new GrpcException(StatusCode.ResourceExhausted, $"grpc: trying to send message larger than max ({size} vs. {maxMessageBytes})");
        }

        Span<byte> header = writer.GetSpan(HeaderBytes);
        header[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(header[1..], (uint)size);
        writer.Advance(HeaderBytes);
        if (size > 0)
        {
            message.WriteTo(writer.GetSpan(size)[..size]);
            writer.Advance(size);
        }
    }
}
