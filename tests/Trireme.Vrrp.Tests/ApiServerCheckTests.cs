// Proves the built-in check_apiserver (kubeadm HA guide's script as code): HTTPS GET /readyz against a
// real Kestrel endpoint on 127.0.0.1 with a self-signed certificate (port chosen by the kernel). 2xx is
// up; a 5xx, a hang past the timeout, a refused connection, or an untrusted certificate without
// insecureSkipVerify are down — each a plain false, never an exception into the VRRP loop.
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Trireme.Vrrp.Tests;

public sealed class ApiServerCheckTests
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task Readyz_2xx_is_up_and_5xx_is_down()
    {
        var ready = true;
        await using var server = await FakeApiServer.StartAsync(async context =>
        {
            context.Response.StatusCode = ready ? 200 : 500;
            await context.Response.WriteAsync(ready ? "ok" : "[-]etcd failed", context.RequestAborted);
        });
        using var check = new ApiServerCheck(server.ReadyzUrl, insecureSkipVerify: true, CheckTimeout);

        Assert.True(await check.RunAsync(TestContext.Current.CancellationToken));
        ready = false;
        Assert.False(await check.RunAsync(TestContext.Current.CancellationToken));
        ready = true;
        Assert.True(await check.RunAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task An_untrusted_certificate_is_down_unless_verification_is_skipped()
    {
        await using var server = await FakeApiServer.StartAsync(context => context.Response.WriteAsync("ok", context.RequestAborted));
        using var verifying = new ApiServerCheck(server.ReadyzUrl, insecureSkipVerify: false, CheckTimeout);

        Assert.False(await verifying.RunAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_server_that_hangs_past_the_timeout_is_down()
    {
        await using var server = await FakeApiServer.StartAsync(context => Task.Delay(Timeout.Infinite, context.RequestAborted));
        using var check = new ApiServerCheck(server.ReadyzUrl, insecureSkipVerify: true, TimeSpan.FromMilliseconds(300));

        Assert.False(await check.RunAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_refused_connection_is_down()
    {
        Uri url;
        await using (var server = await FakeApiServer.StartAsync(context => Task.CompletedTask))
        {
            url = server.ReadyzUrl;
        }

        using var check = new ApiServerCheck(url, insecureSkipVerify: true, CheckTimeout);
        Assert.False(await check.RunAsync(TestContext.Current.CancellationToken));
    }

    /// <summary>Kestrel on 127.0.0.1, a kernel-chosen port, HTTPS with a fresh self-signed certificate.</summary>
    private sealed class FakeApiServer(WebApplication app, Uri readyz) : IAsyncDisposable
    {
        public Uri ReadyzUrl { get; } = readyz;

        public static async Task<FakeApiServer> StartAsync(RequestDelegate readyz)
        {
            var builder = WebApplication.CreateSlimBuilder();
            var certificate = SelfSigned();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
            var app = builder.Build();
            app.MapGet("/readyz", readyz);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return new FakeApiServer(app, new Uri(new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)), "/readyz"));
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }

        private static X509Certificate2 SelfSigned()
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest("CN=trireme-test-apiserver", key, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            var now = DateTimeOffset.UtcNow;
            using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddHours(1));
            // Kestrel wants a key it can use from the store-less PKCS#12 form.
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
        }
    }
}
