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

    /// <summary>
    /// Read-only requests that may wait for a slot once all are busy, before 429: what one APF priority
    /// level of kube-apiserver holds at its defaults (64 queues × 50). Each waiter costs a few hundred
    /// bytes beside the HTTP/2 stream Kestrel already holds for it.
    /// </summary>
    public int MaxRequestsQueued { get; set; } = 3200;

    /// <summary>
    /// Mutating requests that may wait for a slot before 429: the same 3,200 (64 queues × 50, the
    /// defaults of the APF level that carries kubelets' writes) — over three seconds of the 5,000-node
    /// heartbeat rate (1,000 writes/s), where 1,000 (one second) still refused writes in a 1.3 s stall.
    /// </summary>
    public int MaxMutatingRequestsQueued { get; set; } = 3200;

    /// <summary>
    /// How long a queued request waits for a slot before 429: kube-apiserver bounds the queue wait at
    /// a quarter of its 60 s request timeout, 15 s. A client gone sooner leaves the queue at once.
    /// </summary>
    public TimeSpan MaxQueueWait { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>kube-apiserver refuses request bodies over 3 MiB (MaxRequestBodyBytes).</summary>
    public long MaxRequestBodyBytes { get; set; } = 3 * 1024 * 1024;

    /// <summary>How long this server's entry in the kubernetes Endpoints lives without renewal (kube-apiserver: 15 s).</summary>
    public TimeSpan EndpointLeaseTtl { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Identifies this server in its endpoint lease (advertise address plus port by default).</summary>
    public string? ServerId { get; set; }
}
