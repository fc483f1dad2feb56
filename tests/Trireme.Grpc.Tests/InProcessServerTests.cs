// Proves the server router and the client against each other through real Kestrel HTTP/2 (h2c) on a
// free loopback port: every call shape, statuses in trailers and trailers-only responses, deadlines,
// cancellation reaching the handler when the client goes away, big and oversized messages, and
// malformed frames sent raw with HttpClient.
using System.Net;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Trireme.Grpc.Client;
using Trireme.Grpc.Server;

namespace Trireme.Grpc.Tests;

public sealed class InProcessServerTests : IAsyncLifetime
{
    private readonly TestService _service = new();
    private GrpcHost? _host;
    private GrpcChannel? _channel;

    private GrpcChannel Channel => _channel!;

    public async ValueTask InitializeAsync()
    {
        _host = await GrpcHost.StartAsync(_service.CreateServer(), new GrpcHostOptions());
        _channel = new GrpcChannel(_host.Endpoints[0], new GrpcChannelOptions { MaxSendMessageBytes = 8 * 1024 * 1024 });
    }

    public async ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public async Task Unary_call_round_trips_a_message()
    {
        var response = await Channel.UnaryAsync("/test.Echo/Unary", new StringValue { Value = "hello" }, StringValue.Parser);
        Assert.Equal("hello", response.Value);
    }

    [Fact]
    public async Task Empty_message_round_trips()
    {
        var response = await Channel.UnaryAsync("/test.Echo/Unary", new StringValue(), StringValue.Parser);
        Assert.Equal("", response.Value);
    }

    [Fact]
    public async Task Handler_status_reaches_the_client_with_its_percent_encoded_message()
    {
        var error = await Assert.ThrowsAsync<GrpcException>(() =>
            Channel.UnaryAsync("/test.Echo/Unary", new StringValue { Value = "fail:11:etcdserver: mvcc: required revision has been compacted" }, StringValue.Parser));
        Assert.Equal(StatusCode.OutOfRange, error.StatusCode);
        Assert.Equal("etcdserver: mvcc: required revision has been compacted", error.Message);
    }

    [Fact]
    public async Task Unknown_method_is_unimplemented()
    {
        var error = await Assert.ThrowsAsync<GrpcException>(() => Channel.UnaryAsync("/test.Echo/Nope", new StringValue(), StringValue.Parser));
        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
    }

    [Fact]
    public async Task Handler_bug_is_unknown_without_leaking_details()
    {
        var error = await Assert.ThrowsAsync<GrpcException>(() => Channel.UnaryAsync("/test.Echo/Throw", new StringValue(), StringValue.Parser));
        Assert.Equal(StatusCode.Unknown, error.StatusCode);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Server_streaming_delivers_every_message_in_order()
    {
        var values = new List<int>();
        await foreach (var value in Channel.ServerStreamingAsync("/test.Echo/Count", new Int32Value { Value = 500 }, Int32Value.Parser))
        {
            values.Add(value.Value);
        }

        Assert.Equal(Enumerable.Range(0, 500), values);
    }

    [Fact]
    public async Task Client_streaming_sums_what_was_sent()
    {
        await using var call = Channel.Duplex<Int32Value, Int32Value>("/test.Echo/Sum", Int32Value.Parser);
        for (int i = 1; i <= 100; i++)
        {
            await call.WriteAsync(new Int32Value { Value = i });
        }

        await call.CompleteRequestsAsync();
        var sum = await call.ReadAsync();
        Assert.Equal(5050, sum!.Value);
        Assert.Null(await call.ReadAsync());
    }

    [Fact]
    public async Task A_long_stream_may_carry_more_than_kestrels_per_request_body_limit()
    {
        // 40 x 1 MiB: over Kestrel's default 30 MB request body cap, which a watch stream would hit.
        await using var call = Channel.Duplex<BytesValue, Int64Value>("/test.Echo/Drain", Int64Value.Parser);
        var chunk = new BytesValue { Value = ByteString.CopyFrom(new byte[1024 * 1024]) };
        for (int i = 0; i < 40; i++)
        {
            await call.WriteAsync(chunk);
        }

        await call.CompleteRequestsAsync();
        Assert.Equal(40L * 1024 * 1024, (await call.ReadAsync())!.Value);
    }

    [Fact]
    public async Task Bidi_reads_and_writes_interleave()
    {
        await using var call = Channel.Duplex<StringValue, StringValue>("/test.Echo/Chat", StringValue.Parser);
        for (int i = 0; i < 20; i++)
        {
            // Each answer is read before the next request is written: a true ping-pong, impossible
            // if either side buffered a whole direction.
            await call.WriteAsync(new StringValue { Value = $"m{i}" });
            var answer = await call.ReadAsync();
            Assert.Equal($"echo m{i}", answer!.Value);
        }

        await call.CompleteRequestsAsync();
        Assert.Null(await call.ReadAsync());
    }

    [Fact]
    public async Task Bidi_error_arrives_in_trailers_after_messages()
    {
        await using var call = Channel.Duplex<StringValue, StringValue>("/test.Echo/Chat", StringValue.Parser);
        await call.WriteAsync(new StringValue { Value = "a" });
        Assert.Equal("echo a", (await call.ReadAsync())!.Value);
        await call.WriteAsync(new StringValue { Value = "bye-with-error" });
        var error = await Assert.ThrowsAsync<GrpcException>(async () => await call.ReadAsync());
        Assert.Equal(StatusCode.FailedPrecondition, error.StatusCode);
        Assert.Equal("chat ended badly: ünïcode 100%", error.Message);
    }

    [Fact]
    public async Task Deadline_exceeded_cancels_the_handler_and_fails_the_call()
    {
        var error = await Assert.ThrowsAsync<GrpcException>(() =>
            Channel.UnaryAsync("/test.Echo/Hang", new StringValue(), StringValue.Parser, new CallOptions(Timeout: TimeSpan.FromMilliseconds(300))));
        Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        await _service.HangCancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Client_cancellation_reaches_the_handler()
    {
        using var cts = new CancellationTokenSource();
        var call = Channel.UnaryAsync("/test.Echo/Hang", new StringValue(), StringValue.Parser, new CallOptions(CancellationToken: cts.Token));
        await _service.HangStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await _service.HangCancelled.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Disposing_a_bidi_call_ends_the_server_handler()
    {
        var call = Channel.Duplex<StringValue, StringValue>("/test.Echo/Chat", StringValue.Parser);
        await call.WriteAsync(new StringValue { Value = "x" });
        Assert.Equal("echo x", (await call.ReadAsync())!.Value);
        await call.DisposeAsync();
        await _service.ChatEnded.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Big_messages_within_the_limit_pass_both_ways()
    {
        int size = TestService.MaxReceiveMessageBytes - 16;
        var request = new BytesValue { Value = ByteString.CopyFrom(new byte[size]) };
        var length = await Channel.UnaryAsync("/test.Echo/Size", request, Int64Value.Parser);
        Assert.Equal(size, length.Value);

        var made = await Channel.UnaryAsync("/test.Echo/Make", new Int64Value { Value = 3 * 1024 * 1024 }, BytesValue.Parser);
        Assert.Equal(3 * 1024 * 1024, made.Value.Length);
    }

    [Fact]
    public async Task Oversized_request_is_resource_exhausted()
    {
        var request = new BytesValue { Value = ByteString.CopyFrom(new byte[TestService.MaxReceiveMessageBytes + 1]) };
        var error = await Assert.ThrowsAsync<GrpcException>(() => Channel.UnaryAsync("/test.Echo/Size", request, Int64Value.Parser));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("larger than max", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversized_response_is_resource_exhausted_at_the_client()
    {
        using var small = new GrpcChannel(_host!.Endpoints[0], new GrpcChannelOptions { MaxReceiveMessageBytes = 1024 });
        var error = await Assert.ThrowsAsync<GrpcException>(() => small.UnaryAsync("/test.Echo/Make", new Int64Value { Value = 4096 }, BytesValue.Parser));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Fact]
    public async Task Oversized_send_fails_locally()
    {
        using var small = new GrpcChannel(_host!.Endpoints[0], new GrpcChannelOptions { MaxSendMessageBytes = 1024 });
        var error = await Assert.ThrowsAsync<GrpcException>(() => small.UnaryAsync("/test.Echo/Size", new BytesValue { Value = ByteString.CopyFrom(new byte[2048]) }, Int64Value.Parser));
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
    }

    [Theory]
    [InlineData(new byte[] { 1, 0, 0, 0, 0 }, StatusCode.Internal)] // compressed without negotiated encoding
    [InlineData(new byte[] { 7, 0, 0, 0, 0 }, StatusCode.Internal)] // invalid flag
    [InlineData(new byte[] { 0, 0x7F, 0, 0, 0 }, StatusCode.ResourceExhausted)] // declared 2 GiB
    [InlineData(new byte[] { 0, 0, 0, 0, 9, 1 }, StatusCode.Internal)] // truncated payload
    [InlineData(new byte[] { 0, 0, 0, 0, 2, 0xFF, 0xFF }, StatusCode.Internal)] // not protobuf
    [InlineData(new byte[] { 0, 0 }, StatusCode.Internal)] // truncated header
    [InlineData(new byte[0], StatusCode.Internal)] // no message at all
    public async Task Malformed_frames_get_a_status_not_a_crash(byte[] body, StatusCode expected)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_host!.Endpoints[0], "/test.Echo/Unary"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        using var response = await http.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        string? status = response.Headers.TryGetValues("grpc-status", out var h) ? h.First()
            : response.TrailingHeaders.TryGetValues("grpc-status", out var t) ? t.First() : null;
        Assert.Equal(((int)expected).ToString(System.Globalization.CultureInfo.InvariantCulture), status);

        // The server is still fine afterwards.
        Assert.Equal("ok", (await Channel.UnaryAsync("/test.Echo/Unary", new StringValue { Value = "ok" }, StringValue.Parser)).Value);
    }

    [Fact]
    public async Task Non_grpc_content_type_is_415()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_host!.Endpoints[0], "/test.Echo/Unary"))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StringContent("{}"),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/grpc-web");
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Unreachable_server_is_unavailable()
    {
        int port = Trireme.Testing.FreePort.Get(IPAddress.Loopback);
        using var nowhere = new GrpcChannel(new Uri($"http://127.0.0.1:{port}"));
        var error = await Assert.ThrowsAsync<GrpcException>(() => nowhere.UnaryAsync("/test.Echo/Unary", new StringValue(), StringValue.Parser));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact]
    public async Task Many_concurrent_calls_share_the_channel()
    {
        var calls = Enumerable.Range(0, 200).Select(i => Channel.UnaryAsync("/test.Echo/Unary", new StringValue { Value = $"v{i}" }, StringValue.Parser));
        var results = await Task.WhenAll(calls);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"v{i}"), results.Select(r => r.Value));
    }
}
