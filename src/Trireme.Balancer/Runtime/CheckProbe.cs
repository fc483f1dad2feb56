using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Trireme.Balancer.Config;
using Trireme.Balancer.Core;

namespace Trireme.Balancer.Runtime;

/// <summary>
/// Runs one health probe and reports it in HAProxy's vocabulary: L4OK / L4CON / L4TOUT for a TCP
/// connect, L7OK / L7STS / L7RSP / L7TOUT / L6RSP for HTTP(S). An HTTP check sends
/// <c>GET path HTTP/1.0</c> with <c>Connection: close</c> and reads only the status line, so a large
/// body costs nothing. An https check can present a client certificate (an API server whose /readyz
/// refuses anonymous clients).
/// </summary>
internal sealed class CheckProbe
{
    // A status line longer than this is not HTTP; reading stops there.
    private const int MaxStatusLineBytes = 1024;

    private readonly CheckConfig _config;
    private readonly X509Certificate2Collection? _ca;
    private readonly SslStreamCertificateContext? _clientCertificate;

    public CheckProbe(CheckConfig config)
    {
        _config = config;
        if (config.CaFile is { } caFile)
        {
            _ca = [];
            _ca.ImportFromPemFile(caFile);
        }

        if (config.ClientCertFile is { } certFile)
        {
            _clientCertificate = SslStreamCertificateContext.Create(LoadClientCertificate(certFile, config.ClientKeyFile),
                additionalCertificates: null, offline: true);
        }
    }

    /// <summary>A PEM certificate with its key (in <paramref name="keyFile"/>, or in the certificate's own
    /// file when null), made usable by SslStream on Linux (which wants a key it can hand to OpenSSL, so it
    /// goes through PKCS#12 once).</summary>
    internal static X509Certificate2 LoadClientCertificate(string certFile, string? keyFile)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        if (!pem.HasPrivateKey)
        {
            throw new ArgumentException("the certificate has no private key");
        }

        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }

    public async Task<CheckResult> RunAsync(IPEndPoint address, CancellationToken stopping)
    {
        var started = Stopwatch.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(_config.Timeout);
        var connected = false;
        try
        {
            using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(address, timeout.Token).ConfigureAwait(false);
            connected = true;
            if (_config.Type == CheckType.Tcp)
            {
                return Result(true, started, "L4OK");
            }

            await using var stream = new NetworkStream(socket, ownsSocket: false);
            Stream transport = stream;
            if (_config.Type == CheckType.Https)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: true);
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                {
                    TargetHost = _config.Sni ?? address.Address.ToString(),
                    RemoteCertificateValidationCallback = Validate,
                    ClientCertificateContext = _clientCertificate,
                }, timeout.Token).ConfigureAwait(false);
                transport = ssl;
            }

            await using (transport.ConfigureAwait(false))
            {
                return await HttpStatusAsync(transport, address, started, timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return Result(false, started, connected ? "L7TOUT timeout" : "L4TOUT timeout");
        }
        catch (SocketException e)
        {
            return Result(false, started, $"L4CON {e.SocketErrorCode}");
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            return Result(false, started, $"L6RSP {e.Message}");
        }
    }

    private async Task<CheckResult> HttpStatusAsync(Stream transport, IPEndPoint address, long started, CancellationToken ct)
    {
        var host = _config.Sni ?? address.ToString();
        var request = $"GET {_config.Path} HTTP/1.0\r\nHost: {host}\r\nUser-Agent: trireme-lb-check\r\nConnection: close\r\n\r\n";
        await transport.WriteAsync(Encoding.ASCII.GetBytes(request), ct).ConfigureAwait(false);
        var buffer = new byte[MaxStatusLineBytes];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await transport.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            filled += read;
            if (Array.IndexOf(buffer, (byte)'\n', 0, filled) >= 0)
            {
                break;
            }
        }

        var status = ParseStatus(buffer.AsSpan(0, filled));
        if (status is null)
        {
            return Result(false, started, "L7RSP not an HTTP response");
        }

        var ok = _config.ExpectStatus is { } expected ? status == expected : status is >= 200 and < 400;
        return Result(ok, started, ok ? $"L7OK {status}" : $"L7STS {status}");
    }

    /// <summary>"HTTP/1.x NNN ..." to NNN; null for anything else.</summary>
    internal static int? ParseStatus(ReadOnlySpan<byte> line)
    {
        if (line.Length < 12 || !line.StartsWith("HTTP/1."u8) || line[8] != (byte)' ')
        {
            return null;
        }

        return int.TryParse(line.Slice(9, 3), NumberStyles.None, CultureInfo.InvariantCulture, out var code)
            && code is >= 100 and <= 599 ? code : null;
    }

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (!_config.Verify)
        {
            // HAProxy's "verify none": the check proves the server answers, not who it is.
            return true;
        }

        if (_ca is null)
        {
            return errors == SslPolicyErrors.None;
        }

        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(_ca);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }

    private static CheckResult Result(bool ok, long started, string detail) =>
        new(ok, (long)Stopwatch.GetElapsedTime(started).TotalMicroseconds, detail);
}
