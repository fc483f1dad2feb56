using System.Net;

namespace Trireme.ApiServer;

/// <summary>kube-apiserver's flags that Trireme honours, with kube-apiserver's defaults.</summary>
public sealed class ApiServerOptions
{
    public IPAddress BindAddress { get; set; } = IPAddress.Any;
    public int SecurePort { get; set; } = 6443;
    public string TlsCertFile { get; set; } = "";
    public string TlsPrivateKeyFile { get; set; } = "";
    public string ClientCaFile { get; set; } = "";
    public string? TokenAuthFile { get; set; }
    public IPAddress? AdvertiseAddress { get; set; }
    public string ServiceClusterIpRange { get; set; } = "10.96.0.0/12";
    public string ServiceNodePortRange { get; set; } = "30000-32767";

    /// <summary>--max-requests-inflight: non-mutating requests served at once before 429.</summary>
    public int MaxRequestsInflight { get; set; } = 400;

    /// <summary>--max-mutating-requests-inflight.</summary>
    public int MaxMutatingRequestsInflight { get; set; } = 200;

    /// <summary>kube-apiserver refuses request bodies over 3 MiB (MaxRequestBodyBytes).</summary>
    public long MaxRequestBodyBytes { get; set; } = 3 * 1024 * 1024;

    /// <summary>How long this server's entry in the kubernetes Endpoints lives without renewal (kube-apiserver: 15 s).</summary>
    public TimeSpan EndpointLeaseTtl { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Identifies this server in its endpoint lease (advertise address plus port by default).</summary>
    public string? ServerId { get; set; }
}
