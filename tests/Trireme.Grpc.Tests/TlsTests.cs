// Proves the TLS path end to end in process: Kestrel with ALPN h2 and a required client certificate
// that must chain to the test CA, and the client trusting only that CA (no system store).
using System.Net;
using Google.Protobuf.WellKnownTypes;
using Trireme.Grpc.Client;
using Trireme.Grpc.Server;
using Trireme.Testing;

namespace Trireme.Grpc.Tests;

public sealed class TlsTests : IAsyncLifetime
{
    private readonly X509Holder _pki = new();
    private GrpcHost? _host;

    public async ValueTask InitializeAsync()
    {
        var server = new TestService().CreateServer();
        _host = await GrpcHost.StartAsync(server, new GrpcHostOptions
        {
            ServerCertificate = _pki.Server,
            ClientCertificateAuthority = _pki.Authority,
        });
    }

    public async ValueTask DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        _pki.Dispose();
    }

    private Uri Endpoint => new($"https://127.0.0.1:{_host!.Endpoints[0].Port}");

    [Fact]
    public async Task Mutual_tls_unary_and_bidi_work_with_a_custom_ca()
    {
        using var channel = new GrpcChannel(Endpoint, new GrpcChannelOptions { CertificateAuthority = _pki.Authority, ClientCertificate = _pki.Client });
        Assert.Equal("secure", (await channel.UnaryAsync("/test.Echo/Unary", new StringValue { Value = "secure" }, StringValue.Parser)).Value);
        await using var chat = channel.Duplex<StringValue, StringValue>("/test.Echo/Chat", StringValue.Parser);
        await chat.WriteAsync(new StringValue { Value = "x" });
        Assert.Equal("echo x", (await chat.ReadAsync())!.Value);
    }

    [Fact]
    public async Task Missing_client_certificate_is_refused()
    {
        using var channel = new GrpcChannel(Endpoint, new GrpcChannelOptions { CertificateAuthority = _pki.Authority });
        var error = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync("/test.Echo/Unary", new StringValue(), StringValue.Parser));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact]
    public async Task Client_certificate_from_another_ca_is_refused()
    {
        using var otherCa = TestPki.CreateAuthority("other");
        using var stranger = TestPki.Issue(otherCa, "stranger");
        using var channel = new GrpcChannel(Endpoint, new GrpcChannelOptions { CertificateAuthority = _pki.Authority, ClientCertificate = stranger });
        var error = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync("/test.Echo/Unary", new StringValue(), StringValue.Parser));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    [Fact]
    public async Task Server_not_signed_by_the_trusted_ca_is_refused()
    {
        using var otherCa = TestPki.CreateAuthority("other");
        using var channel = new GrpcChannel(Endpoint, new GrpcChannelOptions { CertificateAuthority = otherCa, ClientCertificate = _pki.Client });
        var error = await Assert.ThrowsAsync<GrpcException>(() => channel.UnaryAsync("/test.Echo/Unary", new StringValue(), StringValue.Parser));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
    }

    private sealed class X509Holder : IDisposable
    {
        public X509Holder()
        {
            Authority = TestPki.CreateAuthority();
            Server = TestPki.Issue(Authority, "server", [IPAddress.Loopback]);
            Client = TestPki.Issue(Authority, "client");
        }

        public System.Security.Cryptography.X509Certificates.X509Certificate2 Authority { get; }

        public System.Security.Cryptography.X509Certificates.X509Certificate2 Server { get; }

        public System.Security.Cryptography.X509Certificates.X509Certificate2 Client { get; }

        public void Dispose()
        {
            Authority.Dispose();
            Server.Dispose();
            Client.Dispose();
        }
    }
}
