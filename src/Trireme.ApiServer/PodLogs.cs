using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Http;
using Trireme.ApiServer.Core;

namespace Trireme.ApiServer;

/// <summary>
/// pods/log: proxied to the agent on the pod's node (kubelet's /containerLogs/{ns}/{pod}/{container}
/// on the node's InternalIP and daemonEndpoints port, 10250 by default), authenticated with this
/// server's certificate and verifying the agent against the cluster CA. A pod with no node, or a
/// node no agent answers for, is a clear error rather than a hang.
/// </summary>
public sealed class PodLogs(ResourceStore objects, ResourceRegistry registry, X509Certificate2? clientCertificate, X509Certificate2Collection trust)
{
    /// <summary>kubelet's default port.</summary>
    public const int DefaultKubeletPort = 10250;

    private static readonly string[] PassThrough = ["follow", "previous", "sinceSeconds", "sinceTime", "timestamps", "tailLines", "limitBytes"];

    private readonly HttpClient _client = new(new SocketsHttpHandler
    {
        ConnectTimeout = TimeSpan.FromSeconds(5),
        SslOptions = new SslClientAuthenticationOptions
        {
            ClientCertificates = clientCertificate is null ? null : new X509CertificateCollection { clientCertificate },
            RemoteCertificateValidationCallback = (_, certificate, _, _) => Verify(certificate, trust),
        },
    }) { Timeout = Timeout.InfiniteTimeSpan };

    private static bool Verify(X509Certificate? certificate, X509Certificate2Collection trust)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trust);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    public async Task ServeAsync(HttpContext http, ResourceInfo pods, string ns, string name, CancellationToken ct)
    {
        var (pod, _) = await objects.MustGetAsync(pods, ns, name, ct).ConfigureAwait(false);
        var containers = (ObjectFields.Arr(pod, "spec", "containers") ?? []).Select(c => ObjectFields.Str(c, "name") ?? "").ToList();
        var container = http.Request.Query["container"].ToString();
        if (container.Length == 0)
        {
            container = containers.Count == 1
                ? containers[0]
                : throw ApiException.BadRequest($"a container name must be specified for pod {name}, choose one of: [{string.Join(" ", containers)}]");
        }
        else if (!containers.Contains(container))
        {
            throw ApiException.BadRequest($"container {container} is not valid for pod {name}");
        }

        var nodeName = ObjectFields.Str(pod, "spec", "nodeName");
        if (string.IsNullOrEmpty(nodeName))
        {
            throw ApiException.BadRequest($"pod {name} does not have a host assigned");
        }

        var node = (await objects.GetAsync(registry.Find("", "v1", "nodes")!, null, nodeName, ct).ConfigureAwait(false))?.Object
            ?? throw ApiException.BadRequest($"node \"{nodeName}\" of pod {name} is not registered");
        var address = (ObjectFields.Arr(node, "status", "addresses") ?? [])
            .Where(a => ObjectFields.Str(a, "type") == "InternalIP").Select(a => ObjectFields.Str(a, "address")).FirstOrDefault()
            ?? throw ApiException.BadRequest($"node {nodeName} has no InternalIP address to reach its agent");
        var port = ObjectFields.Int(node, "status", "daemonEndpoints", "kubeletEndpoint", "Port") ?? DefaultKubeletPort;
        var query = string.Join("&", PassThrough.Where(p => http.Request.Query.ContainsKey(p))
            .Select(p => $"{p}={Uri.EscapeDataString(http.Request.Query[p].ToString())}"));
        var host = address.Contains(':', StringComparison.Ordinal) ? $"[{address}]" : address;
        var url = $"https://{host}:{port}/containerLogs/{ns}/{name}/{container}" + (query.Length > 0 ? "?" + query : "");
        HttpResponseMessage response;
        try
        {
            response = await _client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        }
        catch (HttpRequestException ex)
        {
            throw new ApiException(500, "InternalError", $"Get \"{url}\": {ex.Message} (is the node agent running on {nodeName}?)");
        }

        using (response)
        {
            http.Response.StatusCode = (int)response.StatusCode;
            http.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "text/plain";
            await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await body.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
            {
                await http.Response.Body.WriteAsync(buffer.AsMemory(0, read), ct).ConfigureAwait(false);
                await http.Response.Body.FlushAsync(ct).ConfigureAwait(false);
            }
        }
    }
}
