// Proves each health check against a real server on loopback and reports in HAProxy's words: tcp
// (L4OK, L4CON), http (L7OK on 2xx/3xx or the expected status, L7STS otherwise, L7RSP for something
// that is not HTTP, L7TOUT when nothing answers within the check timeout) and https the way an API
// server's /readyz is checked: without verification (HAProxy's `verify none`), and with the cluster CA
// and a server name — refused for a certificate from another CA or for another name — and with a client
// certificate for a server that answers only authenticated clients (401 without one). Each check is
// configured from YAML, so the parser's defaults are part of what is proven.
using System.Net;
using Trireme.Balancer.Config;
using Trireme.Balancer.Core;
using Trireme.Balancer.Runtime;
using Trireme.Testing;

namespace Trireme.Balancer.Tests;

public sealed class CheckProbeTests : IDisposable
{
    private static readonly Lazy<(System.Security.Cryptography.X509Certificates.X509Certificate2 Ca,
        System.Security.Cryptography.X509Certificates.X509Certificate2 Server,
        System.Security.Cryptography.X509Certificates.X509Certificate2 OtherCa,
        System.Security.Cryptography.X509Certificates.X509Certificate2 Client)> Pki = new(() =>
    {
        var ca = TestPki.CreateAuthority("check-test-ca");
        var server = TestPki.Issue(ca, "apiserver", [IPAddress.Loopback], ["kubernetes"]);
        return (ca, server, TestPki.CreateAuthority("some-other-ca"), TestPki.Issue(ca, "lb-check"));
    });

    private readonly string _dir = Directory.CreateTempSubdirectory("trireme-lb-check-").FullName;

    private async Task<CheckResult> ProbeAsync(IPEndPoint target, string check)
    {
        var config = ConfigParser.Parse($$"""
            frontends:
              - { name: fe, bind: "127.0.0.1:0", backend: be }
            backends:
              - name: be
                check: {{check}}
                servers:
                  - { name: s, address: {{target}} }
            """, _dir);
        return await new CheckProbe(config.Backends[0].Check!).RunAsync(target, CancellationToken.None);
    }

    private string WriteCa(System.Security.Cryptography.X509Certificates.X509Certificate2 ca, string name) =>
        TestPki.WritePem(ca, _dir, name).CertFile;

    [Fact]
    public async Task Tcp_check_succeeds_on_a_listener_and_fails_on_a_closed_port()
    {
        using var target = new CheckTarget();
        var ok = await ProbeAsync(target.EndPoint, "{ type: tcp, timeout: 5s }");
        Assert.True(ok.Succeeded);
        Assert.Equal("L4OK", ok.Detail);

        var closed = target.EndPoint;
        target.Dispose();
        var refused = await ProbeAsync(closed, "{ type: tcp, timeout: 5s }");
        Assert.False(refused.Succeeded);
        Assert.StartsWith("L4CON", refused.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(200, "", true, "L7OK 200")]
    [InlineData(302, "", true, "L7OK 302")]
    [InlineData(503, "", false, "L7STS 503")]
    [InlineData(200, ", expectStatus: 204", false, "L7STS 200")]
    [InlineData(204, ", expectStatus: 204", true, "L7OK 204")]
    public async Task Http_check_judges_the_status(int status, string expect, bool succeeded, string detail)
    {
        using var target = new CheckTarget { Status = status };
        var result = await ProbeAsync(target.EndPoint, $"{{ type: http, path: /readyz, timeout: 5s{expect} }}");
        Assert.Equal(succeeded, result.Succeeded);
        Assert.Equal(detail, result.Detail);
        Assert.Equal("GET /readyz HTTP/1.0", target.LastRequestLine);
    }

    [Fact]
    public async Task Http_check_of_something_that_is_not_http_fails_with_L7RSP()
    {
        using var backend = new TestBackend("not-http");
        var result = await ProbeAsync(new IPEndPoint(IPAddress.Loopback, backend.Port), "{ type: http, timeout: 5s }");
        Assert.False(result.Succeeded);
        Assert.StartsWith("L7RSP", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http_check_that_gets_no_answer_fails_after_the_check_timeout()
    {
        using var target = new CheckTarget { Silent = true };
        var result = await ProbeAsync(target.EndPoint, "{ type: http, timeout: 300ms }");
        Assert.False(result.Succeeded);
        Assert.Equal("L7TOUT timeout", result.Detail);
    }

    [Fact]
    public async Task Https_check_without_verification_accepts_any_certificate()
    {
        using var target = new CheckTarget(Pki.Value.Server);
        var result = await ProbeAsync(target.EndPoint, "{ type: https, path: /readyz, verify: false, timeout: 5s }");
        Assert.True(result.Succeeded, result.Detail);
        Assert.Equal("L7OK 200", result.Detail);
    }

    [Fact]
    public async Task Https_check_with_the_cluster_ca_and_name_succeeds()
    {
        using var target = new CheckTarget(Pki.Value.Server);
        var ca = WriteCa(Pki.Value.Ca, "ca");
        var result = await ProbeAsync(target.EndPoint, $"{{ type: https, path: /readyz, caFile: {ca}, sni: kubernetes, timeout: 5s }}");
        Assert.True(result.Succeeded, result.Detail);
        Assert.Equal("L7OK 200", result.Detail);
    }

    [Theory]
    [InlineData("other-ca", "kubernetes")]
    [InlineData("ca", "not-the-server")]
    public async Task Https_check_with_verification_refuses_another_ca_or_another_name(string caName, string sni)
    {
        using var target = new CheckTarget(Pki.Value.Server);
        var ca = WriteCa(caName == "ca" ? Pki.Value.Ca : Pki.Value.OtherCa, caName);
        var result = await ProbeAsync(target.EndPoint, $"{{ type: https, caFile: {ca}, sni: {sni}, timeout: 5s }}");
        Assert.False(result.Succeeded);
        Assert.StartsWith("L6RSP", result.Detail, StringComparison.Ordinal);
        Assert.Null(target.LastRequestLine);
    }

    [Fact]
    public async Task Https_check_presents_its_client_certificate_to_a_server_that_demands_one()
    {
        using var target = new CheckTarget(Pki.Value.Server) { ClientCertificateAuthority = Pki.Value.Ca };
        var ca = WriteCa(Pki.Value.Ca, "ca");
        var anonymous = await ProbeAsync(target.EndPoint, $"{{ type: https, path: /readyz, caFile: {ca}, timeout: 5s }}");
        Assert.False(anonymous.Succeeded);
        Assert.Equal("L7STS 401", anonymous.Detail);

        var (cert, key) = TestPki.WritePem(Pki.Value.Client, _dir, "client");
        var result = await ProbeAsync(target.EndPoint,
            $"{{ type: https, path: /readyz, caFile: {ca}, clientCertFile: {cert}, clientKeyFile: {key}, timeout: 5s }}");
        Assert.True(result.Succeeded, result.Detail);
        Assert.Equal("L7OK 200", result.Detail);
        Assert.Equal("CN=lb-check", target.LastClientSubject);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
