using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Trireme.Balancer.Tests;

/// <summary>
/// A small HTTP(S) server on loopback for check probes: reads one request head, answers with
/// <see cref="Status"/> and closes. With a certificate it speaks TLS, and with
/// <see cref="ClientCertificateAuthority"/> set it demands a client certificate issued by that CA (as the
/// API server's /readyz does for anonymous-less setups) and answers 401 without one. With
/// <see cref="Silent"/> it accepts and never answers.
/// </summary>
internal sealed class CheckTarget : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly X509Certificate2? _certificate;
    private readonly CancellationTokenSource _stop = new();

    public CheckTarget(X509Certificate2? certificate = null)
    {
        _certificate = certificate;
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(64);
        _ = AcceptLoopAsync();
    }

    public IPEndPoint EndPoint => (IPEndPoint)_listener.LocalEndPoint!;

    public int Status { get; set; } = 200;

    public bool Silent { get; set; }

    public X509Certificate2? ClientCertificateAuthority { get; set; }

    /// <summary>The request line of the last request read, e.g. "GET /readyz HTTP/1.0".</summary>
    public string? LastRequestLine { get; private set; }

    /// <summary>The subject of the client certificate presented with the last request, if any.</summary>
    public string? LastClientSubject { get; private set; }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = ServeAsync(client);
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            if (Silent)
            {
                await Task.Delay(Timeout.Infinite, timeout.Token);
            }

            Stream stream = new NetworkStream(client, ownsSocket: false);
            X509Certificate? presented = null;
            if (_certificate is not null)
            {
                var ssl = new SslStream(stream);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
                {
                    ServerCertificate = _certificate,
                    ClientCertificateRequired = ClientCertificateAuthority is not null,
                    RemoteCertificateValidationCallback = (_, _, _, _) => true,
                }, timeout.Token);
                presented = ssl.RemoteCertificate;
                stream = ssl;
            }

            var head = await ReadHeadAsync(stream, timeout.Token);
            if (head.Length == 0)
            {
                // The client closed without a request (e.g. it refused our certificate after TLS 1.3's
                // handshake had finished on this side).
                return;
            }

            LastRequestLine = head.Split("\r\n")[0];
            LastClientSubject = presented?.Subject;
            var status = ClientCertificateAuthority is null || IssuedBy(presented, ClientCertificateAuthority) ? Status : 401;
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {status} Status\r\nContent-Length: 2\r\n\r\nok"), timeout.Token);
            await stream.DisposeAsync();
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException
            or System.Security.Authentication.AuthenticationException)
        {
            // The probe gave up or the handshake failed: that is what some tests are about.
        }
    }

    private static bool IssuedBy(X509Certificate? presented, X509Certificate2 authority)
    {
        if (presented is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(authority);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(presented);
        return chain.Build(leaf);
    }

    private static async Task<string> ReadHeadAsync(Stream stream, CancellationToken ct)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && head.Length < 8192)
        {
            if (await stream.ReadAsync(one, ct) == 0)
            {
                break;
            }

            head.Append((char)one[0]);
        }

        return head.ToString();
    }

    public void Dispose()
    {
        if (!_stop.IsCancellationRequested)
        {
            _stop.Cancel();
        }

        _listener.Dispose();
    }
}
