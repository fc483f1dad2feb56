using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Trireme.Vrrp.Core;

namespace Trireme.Vrrp;

/// <summary>
/// The hosted VIP role: owns the transport, the VIP holder, the checks and the clock, and drives one
/// <see cref="VrrpRouter"/>. Everything that touches the router happens on the single loop in
/// <see cref="RunAsync"/>; the receive thread, check loops and interface monitor only post inputs to a
/// bounded channel. Cancelling RunAsync is the graceful stop: the master sends priority 0 and removes
/// its VIPs before RunAsync returns.
/// </summary>
public sealed partial class VrrpInstance : IDisposable
{
    /// <summary>Inputs waiting for the loop. Adverts arrive at most a few per interval per peer; 1024 only
    /// fills if the loop is stuck, and then dropping new packets is what VRRP tolerates best.</summary>
    private const int MaxQueuedInputs = 1024;
    private const int ReceiveBufferBytes = 2048;
    private static readonly TimeSpan InterfacePollInterval = TimeSpan.FromMilliseconds(100);

    private readonly VrrpConfig _config;
    private readonly ILogger _logger;
    private readonly IVrrpTransport _transport;
    private readonly IVipHolder _holder;
    private readonly IVrrpCheck[] _checks;
    private readonly Channel<Input> _inputs = Channel.CreateBounded<Input>(new BoundedChannelOptions(MaxQueuedInputs)
    {
        SingleReader = true,
        FullMode = BoundedChannelFullMode.DropWrite,
    });
    private readonly long _startTimestamp = Stopwatch.GetTimestamp();
    private readonly byte[] _sendBuffer = new byte[VrrpPacketCodec.MaxPacketBytes];
    private readonly VrrpReceiveFilter _filter;
    private readonly Ipv4[] _targets;
    private readonly object _stateLock = new();
    private VrrpState _state = VrrpState.Initialize;
    private readonly Meter _meter;
    private readonly Counter<long> _transitions;
    private volatile int _lastPriority;
    private readonly List<long> _batchArrivals = [];
    private long _wokeTimestamp;
    private long _droppedInputs;

    public VrrpInstance(VrrpConfig config, ILogger? logger = null, IVrrpTransport? transport = null, IVipHolder? holder = null)
    {
        _config = config;
        _logger = logger ?? NullLogger.Instance;
        PrimaryAddress = config.SourceIp ?? FindPrimaryAddress(config);
        Router = new VrrpRouter(config.ToRouterOptions(PrimaryAddress));
        _filter = new VrrpReceiveFilter(config.Version, config.VirtualRouterId, Router.Options.AuthType,
            Router.Options.AuthData, config.AdvertIntervalTicks);
        _targets = config.UnicastPeers.Count > 0 ? [.. config.UnicastPeers] : [VrrpPacketCodec.MulticastGroup];
        if (config.Mode == VrrpMode.Loopback)
        {
            _transport = transport ?? new LoopbackVrrpTransport(PrimaryAddress, config.LoopbackPort);
            _holder = holder ?? new LoopbackVipHolder();
        }
        else
        {
            var kernel = holder as KernelVipHolder ?? new KernelVipHolder(config.Interface);
            _holder = holder ?? kernel;
            _transport = transport ?? new RawVrrpTransport(config.Interface, kernel.InterfaceIndex, config.UnicastPeers.Count == 0);
        }

        _checks = config.Track.Select(CreateCheck).ToArray();

        // Prometheus-shaped instruments; the exporter lives with whoever hosts the metrics endpoint.
        _meter = new Meter("Trireme.Vrrp");
        var instance = new KeyValuePair<string, object?>("instance", config.Name);
        _transitions = _meter.CreateCounter<long>("trireme_vrrp_transitions_total", description: "VRRP state changes");
        _meter.CreateObservableGauge("trireme_vrrp_state", () => new Measurement<int>((int)State, instance),
            description: "0 init, 1 backup, 2 master, 3 fault");
        _meter.CreateObservableGauge("trireme_vrrp_effective_priority", () => new Measurement<int>(_lastPriority, instance));
        _meter.CreateObservableCounter("trireme_vrrp_rejected_packets_total", () => Rejects.NonZero()
            .Select(r => new Measurement<long>(r.Count, instance, new KeyValuePair<string, object?>("reason", r.Reason.ToString()))),
            description: "received packets dropped, by reason");
        Latency = new HostLatency(_meter, config.Name);
    }

    /// <summary>Raised on the loop thread after each state change (after VIPs moved and adverts went out).</summary>
    public event Action<VrrpTransition>? StateChanged;

    /// <summary>Raised with true when this node starts holding the VIPs, false when it stops. In loopback
    /// mode this is how the balancer knows to bind (or close) its frontend on the VIP.</summary>
    public event Action<IReadOnlyList<Ipv4>, bool>? VipChanged;

    public Ipv4 PrimaryAddress { get; }

    public VrrpRejectCounters Rejects { get; } = new();

    /// <summary>How long this host takes between an event (deadline, packet arrival) and acting on it.</summary>
    public HostLatency Latency { get; }

    /// <summary>Inputs lost because the loop's channel was full (the loop was stuck).</summary>
    public long DroppedInputs => Interlocked.Read(ref _droppedInputs);

    internal VrrpRouter Router { get; }

    public VrrpState State
    {
        get
        {
            lock (_stateLock)
            {
                return _state;
            }
        }
    }

    private long NowTicks => (Stopwatch.GetTimestamp() - _startTimestamp) * VrrpTicks.PerSecond / Stopwatch.Frequency;

    private long TimestampOf(long tick) => _startTimestamp + (tick * Stopwatch.Frequency / VrrpTicks.PerSecond);

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        LogStarting(_logger, _config.Name, _config.Mode, PrimaryAddress, _config.VirtualRouterId, Router.Options.Priority, (int)_config.Version);
        RemoveStaleVips();
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var receiver = new Thread(ReceiveLoop) { IsBackground = true, Name = $"vrrp-rx-{_config.Name}" };
        receiver.Start();
        var background = _checks.Select((c, i) => CheckLoopAsync(i, c, stop.Token)).ToList();
        if (_config.Mode == VrrpMode.Kernel)
        {
            background.Add(InterfaceMonitorAsync(stop.Token));
        }

        Router.SetInterfaceUp(NowTicks, _config.Mode == VrrpMode.Loopback || LinuxNative.IsInterfaceUp(_config.Interface));
        Router.Start(NowTicks);
        Perform(Router.TakeReady());
        try
        {
            await LoopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Router.Shutdown(NowTicks);
            Perform(Router.TakeReady());
            await stop.CancelAsync().ConfigureAwait(false);
            _transport.Dispose(); // unblocks the receive thread
            try
            {
                await Task.WhenAll(background).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            var timers = Latency.Summary(HostLatencyKind.Timer);
            var packets = Latency.Summary(HostLatencyKind.Packet);
            LogLatencySummary(_logger, _config.Name, timers.Count, timers.P50, timers.P99, timers.Max,
                packets.Count, packets.P50, packets.P99, packets.Max);
            LogStopped(_logger, _config.Name);
        }
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        var reader = _inputs.Reader;
        while (!cancellationToken.IsCancellationRequested)
        {
            var waitTicks = Math.Clamp(Router.NextDeadlineTick - NowTicks, 0, VrrpTicks.PerSecond);
            if (waitTicks > 0 && !reader.TryPeek(out _))
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(TimeSpan.FromMilliseconds(waitTicks));
                try
                {
                    await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }

            var due = Router.NextDeadlineTick;
            _wokeTimestamp = Stopwatch.GetTimestamp();
            _batchArrivals.Clear();
            while (reader.TryRead(out var input))
            {
                Handle(input);
            }

            var now = NowTicks;
            Router.Tick(now);
            Perform(Router.TakeReady(), due <= now ? due : long.MaxValue);
            _lastPriority = Router.EffectivePriority;
        }
    }

    private void Handle(Input input)
    {
        switch (input.Kind)
        {
            case InputKind.Packet:
                var reason = VrrpPacketCodec.TryDecode(input.Packet, _filter, out var advert);
                if (reason == VrrpRejectReason.None && advert.Source == PrimaryAddress)
                {
                    reason = VrrpRejectReason.OwnPacket;
                }

                if (reason != VrrpRejectReason.None)
                {
                    Rejects.Add(reason);
                    if (reason != VrrpRejectReason.OtherVirtualRouterId && reason != VrrpRejectReason.OwnPacket)
                    {
                        LogRejected(_logger, _config.Name, reason);
                    }

                    return;
                }

                Router.Step(NowTicks, advert);
                if (input.ArrivalTimestamp != 0)
                {
                    _batchArrivals.Add(input.ArrivalTimestamp);
                    if (advert.Priority == 0)
                    {
                        LogMasterLeaving(_logger, _config.Name, advert.Source,
                            (Stopwatch.GetTimestamp() - input.ArrivalTimestamp) * 1000.0 / Stopwatch.Frequency);
                    }
                }

                break;
            case InputKind.Check:
                Router.RecordCheck(NowTicks, input.Check, input.Succeeded);
                break;
            case InputKind.Interface:
                LogInterface(_logger, _config.Name, _config.Interface, input.Succeeded);
                Router.SetInterfaceUp(NowTicks, input.Succeeded);
                break;
        }
    }

    /// <summary>Does what the router asked, then records how long after its cause (the deadline that fired,
    /// the packets stepped in this batch) that was done, then reports the transitions.</summary>
    private void Perform(VrrpReady ready, long dueTick = long.MaxValue)
    {
        var acting = Stopwatch.GetTimestamp();
        Act(ready);
        var done = Stopwatch.GetTimestamp();
        var cause = 0L;
        foreach (var arrival in _batchArrivals)
        {
            Latency.Record(HostLatencyKind.Packet, arrival, done);
            cause = arrival;
        }

        _batchArrivals.Clear();
        if (dueTick != long.MaxValue)
        {
            cause = TimestampOf(dueTick);
            Latency.Record(HostLatencyKind.Timer, cause, done);
        }

        Report(ready, cause == 0 ? 0 : Milliseconds(cause, done), cause == 0 ? 0 : Milliseconds(cause, _wokeTimestamp),
            Milliseconds(acting, done));
    }

    private static double Milliseconds(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    private void Act(VrrpReady ready)
    {
        if (ready.IsEmpty)
        {
            return;
        }

        foreach (var address in ready.RemoveAddresses)
        {
            Try(() => _holder.Remove(address, PrefixOf(address)), "remove VIP");
        }

        foreach (var address in ready.AddAddresses)
        {
            Try(() => _holder.Add(address, PrefixOf(address)), "add VIP");
        }

        for (var round = 0; round < ready.GarpRounds; round++)
        {
            foreach (var (address, _) in _config.VirtualIps)
            {
                Try(() => _holder.Announce(address), "gratuitous ARP");
            }
        }

        foreach (var advert in ready.Adverts)
        {
            SendAdvert(advert.Priority);
        }

        if (ready.RemoveAddresses.Count > 0)
        {
            VipChanged?.Invoke(ready.RemoveAddresses, false);
        }

        if (ready.AddAddresses.Count > 0)
        {
            VipChanged?.Invoke(ready.AddAddresses, true);
        }
    }

    private void Report(VrrpReady ready, double causeMs, double wokeMs, double actMs)
    {
        foreach (var transition in ready.Transitions)
        {
            lock (_stateLock)
            {
                _state = transition.To;
            }

            _transitions.Add(1, new KeyValuePair<string, object?>("instance", _config.Name), new KeyValuePair<string, object?>("to", transition.To.ToString()));
            LogTransition(_logger, _config.Name, transition.From, transition.To, transition.Reason, transition.Priority, causeMs, wokeMs, actMs);
            StateChanged?.Invoke(transition);
            RunNotify(transition);
        }
    }

    private void SendAdvert(byte priority)
    {
        var o = Router.Options;
        foreach (var target in _targets)
        {
            var n = VrrpPacketCodec.Encode(_sendBuffer, o.Version, o.VirtualRouterId, priority, o.AdvertIntervalTicks,
                PrimaryAddress, target, o.VirtualAddresses, o.AuthType, o.AuthData);
            Try(() => _transport.Send(_sendBuffer.AsSpan(0, n), target), "send advert");
        }
    }

    private void ReceiveLoop()
    {
        var buffer = new byte[ReceiveBufferBytes];
        while (true)
        {
            var n = _transport.Receive(buffer, out var arrival);
            if (n <= 0)
            {
                return;
            }

            if (!_inputs.Writer.TryWrite(new Input(InputKind.Packet, buffer[..n], 0, false, arrival)))
            {
                Interlocked.Increment(ref _droppedInputs);
            }
        }
    }

    private async Task CheckLoopAsync(int index, IVrrpCheck check, CancellationToken cancellationToken)
    {
        var interval = _config.Track[index].Interval;
        while (!cancellationToken.IsCancellationRequested)
        {
            var ok = await check.RunAsync(cancellationToken).ConfigureAwait(false);
            _inputs.Writer.TryWrite(new Input(InputKind.Check, [], index, ok));
            await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task InterfaceMonitorAsync(CancellationToken cancellationToken)
    {
        var up = LinuxNative.IsInterfaceUp(_config.Interface);
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(InterfacePollInterval, cancellationToken).ConfigureAwait(false);
            var now = LinuxNative.IsInterfaceUp(_config.Interface);
            if (now != up)
            {
                up = now;
                _inputs.Writer.TryWrite(new Input(InputKind.Interface, [], 0, up));
            }
        }
    }

    /// <summary>A VIP left behind by a killed instance would answer ARP from a backup; keepalived also
    /// starts by removing its VIPs.</summary>
    private void RemoveStaleVips()
    {
        foreach (var (address, prefix) in _config.VirtualIps)
        {
            Try(() => _holder.Remove(address, prefix), "remove stale VIP");
        }
    }

    /// <summary>keepalived's notify: the command gets INSTANCE, the name, the new state and the priority.</summary>
    private void RunNotify(VrrpTransition transition)
    {
        if (_config.Notify is null)
        {
            return;
        }

        try
        {
            var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false };
            foreach (var arg in new[] { "-c", _config.Notify + " \"$@\"", "notify", "INSTANCE", _config.Name,
                         transition.To.ToString().ToUpperInvariant(), transition.Priority.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            {
                info.ArgumentList.Add(arg);
            }

            var process = Process.Start(info);
            if (process is not null)
            {
                _ = process.WaitForExitAsync().ContinueWith(_ => process.Dispose(), TaskScheduler.Default);
            }
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            LogActionFailed(_logger, _config.Name, "notify", e.Message);
        }
    }

    private int PrefixOf(Ipv4 address) => _config.VirtualIps.First(v => v.Address == address).PrefixLength;

    private void Try(Action action, string what)
    {
        try
        {
            action();
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            LogActionFailed(_logger, _config.Name, what, e.Message);
        }
    }

    private IVrrpCheck CreateCheck(VrrpCheckConfig check) => check.Kind switch
    {
        VrrpCheckKind.ApiServer => new ApiServerCheck(check.Url!, check.InsecureSkipVerify, check.Timeout),
        _ => new ScriptCheck(check.Script!, check.Timeout),
    };

    private static Ipv4 FindPrimaryAddress(VrrpConfig config)
    {
        var vips = config.VirtualIps.Select(v => v.Address).ToHashSet();
        var nic = NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == config.Interface)
            ?? throw new VrrpConfigException("interface", $"{config.Interface} does not exist");
        foreach (var unicast in nic.GetIPProperties().UnicastAddresses)
        {
            if (unicast.Address.AddressFamily == AddressFamily.InterNetwork)
            {
                var address = Ipv4.Read(unicast.Address.GetAddressBytes());
                if (!vips.Contains(address))
                {
                    return address;
                }
            }
        }

        throw new VrrpConfigException("sourceIp", $"{config.Interface} has no IPv4 address; set sourceIp");
    }

    public void Dispose()
    {
        _meter.Dispose();
        _transport.Dispose();
        _holder.Dispose();
        foreach (var check in _checks)
        {
            check.Dispose();
        }
    }

    private enum InputKind
    {
        Packet,
        Check,
        Interface,
    }

    private readonly record struct Input(InputKind Kind, byte[] Packet, int Check, bool Succeeded, long ArrivalTimestamp = 0);

    [LoggerMessage(EventId = 6000, Level = LogLevel.Information, Message = "vrrp {Name}: starting ({Mode}) from {Address}, vrid {Vrid}, priority {Priority}, v{Version}")]
    private static partial void LogStarting(ILogger logger, string name, VrrpMode mode, Ipv4 address, byte vrid, byte priority, int version);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "vrrp {Name}: {From} -> {To} ({Reason}), priority {Priority}; host latency {LatencyMs:F2} ms (woke {WokeMs:F2} ms after the event, acted in {ActMs:F2} ms)")]
    private static partial void LogTransition(ILogger logger, string name, VrrpState from, VrrpState to, VrrpTransitionReason reason, int priority,
        double latencyMs, double wokeMs, double actMs);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Debug, Message = "vrrp {Name}: dropped packet: {Reason}")]
    private static partial void LogRejected(ILogger logger, string name, VrrpRejectReason reason);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "vrrp {Name}: {What} failed: {Error}")]
    private static partial void LogActionFailed(ILogger logger, string name, string what, string error);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Warning, Message = "vrrp {Name}: interface {Interface} up={Up}")]
    private static partial void LogInterface(ILogger logger, string name, string @interface, bool up);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Information, Message = "vrrp {Name}: stopped")]
    private static partial void LogStopped(ILogger logger, string name);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Information, Message = "vrrp {Name}: master {Source} is leaving (priority 0); stepped {LatencyMs:F2} ms after it arrived")]
    private static partial void LogMasterLeaving(ILogger logger, string name, Ipv4 source, double latencyMs);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Information, Message = "vrrp {Name}: host latency ms: timer n={TimerCount} p50={TimerP50:F2} p99={TimerP99:F2} max={TimerMax:F2}; packet n={PacketCount} p50={PacketP50:F2} p99={PacketP99:F2} max={PacketMax:F2}")]
    private static partial void LogLatencySummary(ILogger logger, string name, long timerCount, double timerP50, double timerP99, double timerMax,
        long packetCount, double packetP50, double packetP99, double packetMax);
}
