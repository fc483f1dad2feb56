using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;

namespace Trireme.Client;

/// <summary>
/// A small Kubernetes API client over HttpClient: GET one object, LIST a collection, WATCH it from a
/// resourceVersion. It speaks JSON and nothing else; paths are the API's own
/// (<c>/api/v1/namespaces/default/endpoints/kubernetes</c>), so any resource works without codegen.
/// </summary>
public sealed class KubeClient : IDisposable
{
    // A watch line longer than this is refused rather than buffered without end.
    private const int MaxWatchLineBytes = 16 * 1024 * 1024;

    private readonly HttpClient _http;

    public KubeClient(Kubeconfig config, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        Config = config;
        _http = new HttpClient(handler ?? CreateHandler(config), disposeHandler: true)
        {
            BaseAddress = config.Server,
            // Watches run for as long as the server keeps them; requests carry their own cancellation.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        if (config.BearerToken is { } token)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    public Kubeconfig Config { get; }

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web);

    public static SocketsHttpHandler CreateHandler(Kubeconfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        var handler = new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) };
        if (config.ClientCertificate is { } cert)
        {
            handler.SslOptions.ClientCertificates = [cert];
        }

        if (config.InsecureSkipTlsVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (config.CertificateAuthority is { } ca)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                TrustedByCa(certificate, errors, ca);
        }

        return handler;
    }

    /// <summary>Chain validation against the kubeconfig's CA only (not the system store), with the
    /// host name still checked.</summary>
    internal static bool TrustedByCa(X509Certificate? certificate, SslPolicyErrors errors, X509Certificate2Collection ca)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    public async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(path, cancellationToken).ConfigureAwait(false);
        await EnsureSuccess(response, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            return await JsonSerializer.DeserializeAsync<T>(stream, Json, cancellationToken).ConfigureAwait(false)
                ?? throw new KubeApiException(HttpStatusCode.OK, "the server answered null");
        }
    }

    public Task<KubeList<T>> ListAsync<T>(string collectionPath, string? query, CancellationToken cancellationToken) =>
        GetAsync<KubeList<T>>(query is null ? collectionPath : $"{collectionPath}?{query}", cancellationToken);

    /// <summary>
    /// Watches a collection from <paramref name="resourceVersion"/>. Ends when the server closes the
    /// stream; throws <see cref="KubeApiException"/> with <see cref="HttpStatusCode.Gone"/> when that
    /// version is compacted (as a 410 answer or as an ERROR event carrying code 410), which tells the
    /// caller to list again.
    /// </summary>
    public async IAsyncEnumerable<WatchEvent<T>> WatchAsync<T>(string collectionPath, string? query,
        string resourceVersion, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var url = $"{collectionPath}?watch=true&allowWatchBookmarks=true&resourceVersion={Uri.EscapeDataString(resourceVersion)}";
        if (query is not null)
        {
            url += "&" + query;
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken)
            .ConfigureAwait(false);
        await EnsureSuccess(response, cancellationToken).ConfigureAwait(false);
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var reader = new StreamReader(stream, bufferSize: 16 * 1024);
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.Length == 0)
                {
                    continue;
                }

                if (line.Length > MaxWatchLineBytes)
                {
                    throw new KubeApiException(HttpStatusCode.OK, "a watch event is larger than the client accepts");
                }

                var evt = JsonSerializer.Deserialize<WatchEvent<T>>(line, Json)
                    ?? throw new KubeApiException(HttpStatusCode.OK, "a watch line was null");
                if (evt.Type == "ERROR")
                {
                    var status = evt.Object.Deserialize<KubeStatus>(Json);
                    throw new KubeApiException((HttpStatusCode)(status?.Code ?? 500), status?.Message ?? "watch error");
                }

                yield return evt;
            }
        }
    }

    private static async Task EnsureSuccess(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        string? message = null;
        try
        {
            message = JsonSerializer.Deserialize<KubeStatus>(body, Json)?.Message;
        }
        catch (JsonException)
        {
            // Not a Status object: the raw body (cut short) says more than nothing.
        }

        throw new KubeApiException(response.StatusCode, message ?? body[..Math.Min(body.Length, 200)]);
    }

    public void Dispose() => _http.Dispose();
}

public sealed class KubeApiException : Exception
{
    public KubeApiException(HttpStatusCode status, string message)
        : base($"{(int)status} {status}: {message}")
    {
        Status = status;
    }

    public KubeApiException()
    {
    }

    public KubeApiException(string message)
        : base(message)
    {
    }

    public KubeApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public HttpStatusCode Status { get; }
}
