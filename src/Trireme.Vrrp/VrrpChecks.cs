using System.Diagnostics;

namespace Trireme.Vrrp;

/// <summary>One tracked health check; the host runs it every interval and feeds the result to the core,
/// whose fall/rise counters decide what it means.</summary>
public interface IVrrpCheck : IDisposable
{
    Task<bool> RunAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The kubeadm HA guide's check_apiserver.sh, built in: GET /readyz on the local API server answers 200
/// when it is serving. Certificate verification is optional because the check targets 127.0.0.1 while the
/// serving certificate names the node and the VIP.
/// </summary>
public sealed class ApiServerCheck : IVrrpCheck
{
    private readonly HttpClient _client;
    private readonly Uri _url;

    public ApiServerCheck(Uri url, bool insecureSkipVerify, TimeSpan timeout)
    {
        _url = url;
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) };
        if (insecureSkipVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }

        _client = new HttpClient(handler) { Timeout = timeout };
    }

    public async Task<bool> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _client.GetAsync(_url, cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
        {
            return false;
        }
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>keepalived's vrrp_script: exit status 0 is success; a script that overruns its timeout fails
/// and is killed.</summary>
public sealed class ScriptCheck(string script, TimeSpan timeout) : IVrrpCheck
{
    public async Task<bool> RunAsync(CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);
        using var process = Process.Start(info);
        if (process is null)
        {
            return false;
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            _ = process.StandardOutput.ReadToEndAsync(deadline.Token);
            _ = process.StandardError.ReadToEndAsync(deadline.Token);
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            return process.ExitCode == 0;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return false;
        }
    }

    public void Dispose()
    {
    }
}
