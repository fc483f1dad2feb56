using System.Net;
using Microsoft.Extensions.Logging;
using Trireme.Balancer.Config;
using Trireme.Balancer.Runtime;
using Trireme.Vrrp;

namespace Trireme.Cli.Composition;

/// <summary>
/// keepalived + HAProxy on one node as one object: a <see cref="BalancerHost"/> whose frontends bound
/// on one of the VRRP instance's virtual IPs listen only while this node holds the VIP. The balancer
/// knows nothing of VRRP (it only sees reloads with a smaller or larger frontend list), which is why
/// this lives in the CLI. Reloads from the file go through the same gate, so a reload on a backup never
/// binds the VIP.
/// </summary>
public sealed class VipGatedBalancer : IAsyncDisposable
{
    private readonly VrrpInstance _vrrp;
    private readonly HashSet<IPAddress> _vips;
    private readonly SemaphoreSlim _applyLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly ILogger _log;
    private BalancerConfig _fileConfig;
    private volatile bool _held;
    private bool _appliedHeld;
    private Task? _vrrpRun;
    private int _disposed;

    public VipGatedBalancer(BalancerConfig fileConfig, VrrpConfig vrrpConfig, ILoggerFactory loggers)
    {
        _fileConfig = fileConfig;
        _log = loggers.CreateLogger("Trireme.Cli.VipGatedBalancer");
        _vips = vrrpConfig.VirtualIps.Select(v => IPAddress.Parse(v.Address.ToString())).ToHashSet();
        Host = new BalancerHost(Effective(fileConfig, _vips, held: false), loggers);
        _vrrp = new VrrpInstance(vrrpConfig, loggers.CreateLogger("Trireme.Vrrp"));
        // Follow the state, not VipChanged: one step of the router can both add and remove the VIP
        // (Backup -> Master -> Backup), and VipChanged then reports the removal before the addition;
        // transitions arrive in order, so the last one is the truth.
        _vrrp.StateChanged += transition =>
        {
            _held = transition.To == Trireme.Vrrp.Core.VrrpState.Master;
            // The event comes from the VRRP loop thread: never block it on a reload.
            _ = Task.Run(ApplyAsync);
        };
    }

    public BalancerHost Host { get; }

    public VrrpInstance Vrrp => _vrrp;

    /// <summary>True while the balancer's VIP frontends are bound (this node is the VRRP master).</summary>
    public bool Serving => _appliedHeld;

    /// <summary>The file's config with the VIP frontends removed unless the VIP is held.</summary>
    public static BalancerConfig Effective(BalancerConfig config, IReadOnlySet<IPAddress> vips, bool held) =>
        held ? config : config with { Frontends = config.Frontends.Where(f => !vips.Contains(f.Bind.Address)).ToList() };

    public async Task StartAsync()
    {
        await Host.StartAsync().ConfigureAwait(false);
        _vrrpRun = Task.Run(() => _vrrp.RunAsync(_stop.Token));
    }

    /// <summary>A new file configuration (SIGHUP or file change), applied through the VIP gate.</summary>
    public async Task ReloadAsync(BalancerConfig fileConfig)
    {
        _fileConfig = fileConfig;
        await ApplyAsync().ConfigureAwait(false);
    }

    private async Task ApplyAsync()
    {
        await _applyLock.WaitAsync().ConfigureAwait(false);
        try
        {
            var held = _held;
            try
            {
                await Host.ReloadAsync(Effective(_fileConfig, _vips, held)).ConfigureAwait(false);
                _appliedHeld = held;
                LogGate(_log, held ? "bound" : "released", string.Join(",", _vips));
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or InvalidOperationException or IOException)
            {
                // The old set keeps running (the host binds before it closes); the next VIP event or
                // reload tries again.
                LogGateFailed(_log, e.Message);
            }
        }
        finally
        {
            _applyLock.Release();
        }
    }

    /// <summary>Graceful stop: the VRRP instance sends priority 0 (a backup takes over after
    /// Skew_Time), then the balancer closes.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_vrrpRun is not null)
        {
            try
            {
                await _vrrpRun.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Expected on stop.
            }
        }

        _vrrp.Dispose();
        await _applyLock.WaitAsync().ConfigureAwait(false);
        await Host.DisposeAsync().ConfigureAwait(false);
        _applyLock.Dispose();
        _stop.Dispose();
    }

    private static readonly Action<ILogger, string, string, Exception?> LogGateMessage =
        LoggerMessage.Define<string, string>(LogLevel.Information, new EventId(1, "VipGate"), "VIP frontends {Action} ({Vips})");

    private static readonly Action<ILogger, string, Exception?> LogGateFailedMessage =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(2, "VipGateFailed"), "applying the VIP gate failed: {Error}");

    private static void LogGate(ILogger log, string action, string vips) => LogGateMessage(log, action, vips, null);

    private static void LogGateFailed(ILogger log, string error) => LogGateFailedMessage(log, error, null);
}
