// Fuzz targets for the wire decoders, seeded so any failure replays: random and mutated inputs to the
// gRPC frame decoder (and the message parse behind it) and to the HPACK decoder must never throw
// anything but their typed rejections. TRIREME_FUZZ_ITERATIONS raises the iteration count.
using System.Buffers;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Trireme.Grpc.Http2;

namespace Trireme.Grpc.Tests;

public sealed class FrameFuzzTests
{
    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("TRIREME_FUZZ_ITERATIONS"), out int n) ? n : 20_000;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Frame_decoder_only_ever_rejects_with_GrpcFrameException(int seed)
    {
        var random = new Random(seed);
        byte[] valid = Valid();
        for (int i = 0; i < Iterations; i++)
        {
            byte[] input = i % 2 == 0 ? RandomBytes(random) : Mutate(random, valid);
            try
            {
                DecodeAll(input, maxMessageBytes: 1 + random.Next(4096));
            }
            catch (GrpcFrameException)
            {
                // The typed rejection: fine.
            }
        }
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void Hpack_decoder_only_ever_rejects_with_HpackException(int seed)
    {
        var random = new Random(seed);
        byte[] valid = Convert.FromHexString("828684418cf1e3c2e5f23a6ba0ab90f4ff");
        for (int i = 0; i < Iterations; i++)
        {
            byte[] input = i % 2 == 0 ? RandomBytes(random) : Mutate(random, valid);
            try
            {
                new HpackDecoder().Decode(input);
            }
            catch (HpackException)
            {
            }
            catch (IndexOutOfRangeException e)
            {
                Assert.Fail($"seed {seed} iteration {i}: {Convert.ToHexString(input)} threw {e}");
            }
        }
    }

    private static void DecodeAll(byte[] input, int maxMessageBytes)
    {
        // Split the input into random segments so multi-segment sequences are covered too.
        var reader = new SequenceReader<byte>(Segments(input));
        while (GrpcFraming.TryReadMessage(ref reader, maxMessageBytes, out var payload))
        {
            GrpcFraming.ParsePayload(StringValue.Parser, payload);
        }
    }

    private static ReadOnlySequence<byte> Segments(byte[] input)
    {
        if (input.Length < 2)
        {
            return new ReadOnlySequence<byte>(input);
        }

        int cut = input.Length / 2;
        var first = new Segment(input.AsMemory(0, cut));
        var last = first.Append(input.AsMemory(cut));
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private static byte[] Valid()
    {
        var buffer = new ArrayBufferWriter<byte>();
        GrpcFraming.WriteMessage(buffer, new StringValue { Value = "fuzz me" }, int.MaxValue);
        GrpcFraming.WriteMessage(buffer, new StringValue { Value = new string('x', 300) }, int.MaxValue);
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 64)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Mutate(Random random, byte[] valid)
    {
        byte[] copy = valid[..random.Next(0, valid.Length + 1)];
        int flips = random.Next(1, 4);
        for (int f = 0; f < flips && copy.Length > 0; f++)
        {
            copy[random.Next(copy.Length)] = (byte)random.Next(256);
        }

        return copy;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
