using Google.Protobuf.WellKnownTypes;
using Trireme.Grpc;
using Trireme.Grpc.Server;

namespace Trireme.Grpc.Tests;

/// <summary>
/// An in-process gRPC service exercising every call shape, with hooks the tests observe (e.g. that a
/// handler saw its cancellation). Messages are protobuf well-known types so no test protos are needed.
/// </summary>
internal sealed class TestService
{
    public const int MaxReceiveMessageBytes = 2 * 1024 * 1024;

    public TaskCompletionSource HangCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource HangStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource ChatEnded { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public GrpcServer CreateServer()
    {
        var server = new GrpcServer(new GrpcServerOptions { MaxReceiveMessageBytes = MaxReceiveMessageBytes });
        server.MapUnary<StringValue, StringValue>("/test.Echo/Unary", (request, _) =>
        {
            // "fail:<code>:<message>" answers with that status, so tests choose the error.
            if (request.Value.StartsWith("fail:", StringComparison.Ordinal))
            {
                string[] parts = request.Value.Split(':', 3);
                throw new GrpcException((StatusCode)int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), parts[2]);
            }

            return ValueTask.FromResult(new StringValue { Value = request.Value });
        });
        server.MapUnary<BytesValue, Int64Value>("/test.Echo/Size", (request, _) =>
            ValueTask.FromResult(new Int64Value { Value = request.Value.Length }));
        server.MapUnary<Int64Value, BytesValue>("/test.Echo/Make", (request, _) =>
            ValueTask.FromResult(new BytesValue { Value = Google.Protobuf.ByteString.CopyFrom(new byte[request.Value]) }));
        server.MapUnary<StringValue, StringValue>("/test.Echo/Throw", (_, _) => throw new InvalidOperationException("secret detail"));
        server.MapUnary<StringValue, StringValue>("/test.Echo/Hang", async (request, call) =>
        {
            HangStarted.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, call.CancellationToken);
            }
            finally
            {
                HangCancelled.TrySetResult();
            }

            return request;
        });
        server.MapServerStreaming<Int32Value, Int32Value>("/test.Echo/Count", async (request, responses, call) =>
        {
            for (int i = 0; i < request.Value; i++)
            {
                await responses.WriteAsync(new Int32Value { Value = i }, call.CancellationToken);
            }
        });
        server.MapClientStreaming<Int32Value, Int32Value>("/test.Echo/Sum", async (requests, call) =>
        {
            int sum = 0;
            await foreach (Int32Value value in requests)
            {
                sum += value.Value;
            }

            return new Int32Value { Value = sum };
        });
        server.MapClientStreaming<BytesValue, Int64Value>("/test.Echo/Drain", async (requests, call) =>
        {
            long total = 0;
            await foreach (BytesValue value in requests)
            {
                total += value.Value.Length;
            }

            return new Int64Value { Value = total };
        });
        server.MapDuplex<StringValue, StringValue>("/test.Echo/Chat", async (requests, responses, call) =>
        {
            try
            {
                while (await requests.ReadAsync() is { } request)
                {
                    if (request.Value == "bye-with-error")
                    {
                        throw new GrpcException(StatusCode.FailedPrecondition, "chat ended badly: ünïcode 100%");
                    }

                    await responses.WriteAsync(new StringValue { Value = "echo " + request.Value });
                }
            }
            finally
            {
                ChatEnded.TrySetResult();
            }
        });
        return server;
    }
}
