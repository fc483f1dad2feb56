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
    /// Read-only requests that may wait for a slot once all are busy, before 429. Five times the
    /// limit: a stall of a few hundred ms at the read rates seen here fits; each waiter costs a few
    /// hundred bytes beside the request Kestrel already holds. (kube-apiserver's APF queues hold 50
    /// per queue over 64-128 queues per priority level — thousands in all.)
    /// </summary>
    public int MaxRequestsQueued { get; set; } = 2000;

    /// <summary>
    /// Mutating requests that may wait for a slot before 429: one second of the 5,000-node heartbeat
    /// rate (1,000 writes/s), so a store stall of up to a second is absorbed instead of refused.
    /// </summary>
    public int MaxMutatingRequestsQueued { get; set; } = 1000;

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
