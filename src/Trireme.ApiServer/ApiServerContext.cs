using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Trireme.ApiServer.Auth;
using Trireme.ApiServer.Core;
using Trireme.ApiServer.Storage;

namespace Trireme.ApiServer;

/// <summary>
/// Everything one API server instance holds: the store, a watch cache per stored resource, the
/// allocator, auth, metrics. Owns the caches and the endpoint reconciler and stops them on dispose.
/// Any number of instances may share one store (active-active); none holds state the others need.
/// </summary>
public sealed partial class ApiServerContext : IAsyncDisposable
{
    public ApiServerOptions Options { get; }
    public ResourceRegistry Registry { get; } = ResourceRegistry.Default;
    public IKeyValueStore Store { get; }
    public ResourceStore Objects { get; }
    public Dictionary<string, WatchCache> Caches { get; } = new(StringComparer.Ordinal);
    public ServiceAllocator Allocator { get; }
    public ApiMetrics Metrics { get; } = new();
    public TimeProvider Clock { get; }
    public Authenticator Authenticator { get; }
    public RbacAuthorizer Authorizer { get; }
    public OpenApi OpenApi { get; }
    public PodLogs PodLogs { get; }
    public ApiHandler Handler { get; }
    public EndpointReconciler Endpoints { get; }

    /// <summary>host:port advertised in discovery's serverAddressByClientCIDRs and the kubernetes Endpoints.</summary>
    public string AdvertisedAddress { get; set; } = "";

    private readonly ILogger _log;
    private readonly InflightLimiter _readOnlyLimiter;
    private readonly InflightLimiter _mutatingLimiter;

    public ApiServerContext(ApiServerOptions options, IKeyValueStore store, X509Certificate2Collection clientCas,
        X509Certificate2? servingCertificate, TimeProvider clock, ILoggerFactory logs)
    {
        Options = options;
        Store = store;
        Clock = clock;
        _log = logs.CreateLogger("Trireme.ApiServer");
        Objects = new ResourceStore(store);
        _readOnlyLimiter = new InflightLimiter(options.MaxRequestsInflight, options.MaxRequestsQueued, options.MaxQueueWait, clock);
        _mutatingLimiter = new InflightLimiter(options.MaxMutatingRequestsInflight, options.MaxMutatingRequestsQueued, options.MaxQueueWait, clock);
        Metrics.Track(_readOnlyLimiter, _mutatingLimiter);
        Allocator = new ServiceAllocator(store, options.ServiceClusterIpRange, options.ServiceNodePortRange);
        foreach (var r in Registry.All.Where(r => !r.IsVirtual))
        {
            Caches[r.Plural] = new WatchCache(r, store, logs.CreateLogger("Trireme.ApiServer.WatchCache"));
        }

        var tokens = options.TokenAuthFile is { Length: > 0 } file
            ? Authenticator.ParseTokenFile(File.ReadAllText(file))
            : new Dictionary<string, UserInfo>(StringComparer.Ordinal);
        var secrets = Registry.Find("", "v1", "secrets")!;
        Authenticator = new Authenticator(clientCas, tokens,
            name => Caches["secrets"].Get(secrets.Key("kube-system", name)), clock);
        Authorizer = new RbacAuthorizer(
            plural => Caches[plural].List(new WatchFilter(null, null, LabelSelector.Everything, FieldSelector.Everything)).Items,
            (plural, ns, name) => Caches[plural].Get(Registry.Find("rbac.authorization.k8s.io", "v1", plural)!.Key(ns, name)),
            () => Caches["roles"].Revision + Caches["rolebindings"].Revision + Caches["clusterroles"].Revision + Caches["clusterrolebindings"].Revision);
        OpenApi = new OpenApi(Registry);
        PodLogs = new PodLogs(Objects, Registry, servingCertificate, clientCas);
        Handler = new ApiHandler(this, _log);
        Endpoints = new EndpointReconciler(this, logs.CreateLogger("Trireme.ApiServer.Endpoints"));
    }

    /// <summary>How long start waits for every watch cache's first list (the store may be slow to elect).</summary>
    public static readonly TimeSpan CacheSyncTimeout = TimeSpan.FromSeconds(60);

    public async Task StartAsync(CancellationToken ct)
    {
        foreach (var cache in Caches.Values)
        {
            cache.Start();
        }

        await Task.WhenAll(Caches.Values.Select(c => c.Ready)).WaitAsync(CacheSyncTimeout, ct).ConfigureAwait(false);
        await BootstrapAsync(ct).ConfigureAwait(false);
        Endpoints.Start();
    }

    /// <summary>
    /// What every kube-apiserver ensures on start: the system namespaces, the default RBAC policy and
    /// the kubernetes Service address. Create-if-absent, so concurrent servers and restarts agree.
    /// </summary>
    private async Task BootstrapAsync(CancellationToken ct)
    {
        var namespaces = Registry.Find("", "v1", "namespaces")!;
        foreach (var name in new[] { "default", "kube-system", "kube-public", "kube-node-lease" })
        {
            var ns = new JsonObject
            {
                ["kind"] = "Namespace", ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject { ["name"] = name },
            };
            await CreateIfAbsentAsync(namespaces, ns, ct).ConfigureAwait(false);
        }

        var clusterRoles = Registry.Find("rbac.authorization.k8s.io", "v1", "clusterroles")!;
        foreach (var role in DefaultRbac.ClusterRoles())
        {
            await CreateIfAbsentAsync(clusterRoles, role, ct).ConfigureAwait(false);
        }

        var bindings = Registry.Find("rbac.authorization.k8s.io", "v1", "clusterrolebindings")!;
        foreach (var binding in DefaultRbac.ClusterRoleBindings())
        {
            await CreateIfAbsentAsync(bindings, binding, ct).ConfigureAwait(false);
        }

        await Allocator.ReserveKubernetesIpAsync(ct).ConfigureAwait(false);
    }

    internal async Task CreateIfAbsentAsync(ResourceInfo r, JsonObject obj, CancellationToken ct)
    {
        var meta = ObjectFields.Metadata(obj);
        meta["uid"] = Guid.NewGuid().ToString();
        meta["creationTimestamp"] = ObjectCodec.Rfc3339(Clock.GetUtcNow());
        Defaulting.Apply(r, obj);
        var result = await Store.CreateAsync(r.Key(ObjectFields.Namespace(obj), ObjectFields.Name(obj)), ObjectCodec.Encode(obj), ct)
            .ConfigureAwait(false);
        if (result.Outcome == WriteOutcome.Succeeded)
        {
            LogBootstrapped(_log, r.Plural, ObjectFields.Name(obj));
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "bootstrapped {Resource} {Name}")]
    private static partial void LogBootstrapped(ILogger log, string resource, string name);

    /// <summary>
    /// componentstatuses, computed: the scheduler and controller manager are healthy while their
    /// leader-election Lease in kube-system is renewed; one etcd-N per store member from the store's
    /// own health answer.
    /// </summary>
    public async Task<List<JsonObject>> ComponentStatusesAsync(CancellationToken ct)
    {
        var result = new List<JsonObject>();
        var leases = Registry.Find("coordination.k8s.io", "v1", "leases")!;
        foreach (var (component, leaseName) in new[] { ("controller-manager", "kube-controller-manager"), ("scheduler", "kube-scheduler") })
        {
            var lease = (await Objects.GetAsync(leases, "kube-system", leaseName, ct).ConfigureAwait(false))?.Object;
            var (healthy, error) = LeaseHealth(lease, leaseName);
            result.Add(ComponentStatus(component, healthy, healthy ? "ok" : "", error));
        }

        IReadOnlyList<StoreMemberHealth> members;
        try
        {
            members = await Store.HealthAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is StoreUnavailableException or HttpRequestException or IOException)
        {
            members = [new StoreMemberHealth("etcd-0", false, ex.Message)];
        }

        foreach (var m in members)
        {
            result.Add(ComponentStatus(m.Name, m.Healthy, m.Healthy ? "ok" : "", m.Error));
        }

        return result.OrderBy(o => ObjectFields.Name(o), StringComparer.Ordinal).ToList();
    }

    private (bool Healthy, string Error) LeaseHealth(JsonObject? lease, string name)
    {
        if (lease is null)
        {
            return (false, $"no leader: Lease kube-system/{name} does not exist");
        }

        var renew = ObjectFields.Str(lease, "spec", "renewTime");
        var duration = ObjectFields.Int(lease, "spec", "leaseDurationSeconds") ?? 15;
        if (renew is null || !DateTimeOffset.TryParse(renew, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var renewed))
        {
            return (false, $"no leader: Lease kube-system/{name} was never renewed");
        }

        return renewed.AddSeconds(duration) >= Clock.GetUtcNow()
            ? (true, "")
            : (false, $"no leader: Lease kube-system/{name} expired at {ObjectCodec.Rfc3339(renewed.AddSeconds(duration))}");
    }

    private static JsonObject ComponentStatus(string name, bool healthy, string message, string error) => new()
    {
        ["kind"] = "ComponentStatus",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject { ["name"] = name, ["creationTimestamp"] = null },
        ["conditions"] = new JsonArray(new JsonObject
        {
            ["type"] = "Healthy", ["status"] = healthy ? "True" : "False", ["message"] = message, ["error"] = error,
        }),
    };

    /// <summary>
    /// Admits a request under the max-in-flight limits, waiting in its kind's bounded FIFO queue when
    /// every slot is busy. Anything but Admitted owns no slot (429, or nothing for a client gone).
    /// </summary>
    public async ValueTask<AdmissionOutcome> EnterAsync(bool mutating, CancellationToken requestAborted)
    {
        var outcome = await (mutating ? _mutatingLimiter : _readOnlyLimiter).EnterAsync(requestAborted).ConfigureAwait(false);
        if (outcome == AdmissionOutcome.Admitted)
        {
            Interlocked.Increment(ref Metrics.Inflight(mutating));
        }
        else if (outcome != AdmissionOutcome.Canceled)
        {
            Metrics.Rejected();
        }

        return outcome;
    }

    public void Exit(bool mutating)
    {
        Interlocked.Decrement(ref Metrics.Inflight(mutating));
        (mutating ? _mutatingLimiter : _readOnlyLimiter).Exit();
    }

    public async ValueTask DisposeAsync()
    {
        await Endpoints.DisposeAsync().ConfigureAwait(false);
        foreach (var cache in Caches.Values)
        {
            await cache.DisposeAsync().ConfigureAwait(false);
        }

        Metrics.Dispose();
    }
}
