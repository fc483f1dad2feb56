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
/// <see cref="VrrpRouter"/>. The router, the socket and every action belong to one dedicated thread
/// (<see cref="Loop"/>), which also follows the link's state; check loops only post results to a bounded
/// channel and wake it. Cancelling RunAsync is the graceful stop: the master sends priority 0 and removes its VIPs
/// before RunAsync returns.
/// </summary>
public sealed partial class VrrpInstance : IDisposable
{
    /// <summary>Check results waiting for the loop: a few per check interval, so 1024
    /// only fills if the loop is stuck, and then dropping the newest is harmless (the next result repeats it).</summary>
    private const int MaxQueuedInputs = 1024;

    /// <summary>Datagrams read per wake-up before timers get their turn, so a flood cannot starve them; the
    /// rest stay in the socket buffer (the kernel drops beyond it, which VRRP tolerates).</summary>
    private const int MaxDatagramsPerWakeup = 256;
    private const int ReceiveBufferBytes = 2048;

    /// <summary>Transitions whose notify command has not started yet: a few per failover, so 64 only fills
    /// if process creation is stuck, and then later notifications are dropped and logged.</summary>
    private const int MaxQueuedNotifications = 64;

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
    private long _lastTick;
    private volatile LoopPoller? _poller;
    private Channel<VrrpTransition>? _notifications;
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

    /// <summary>
    /// Runs the instance until <paramref name="cancellationToken"/> is cancelled (the graceful stop). The
    /// router, the socket and every action live on one dedicated thread (see <see cref="Loop"/>); this task
    /// only starts it, runs the checks beside it, and waits.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        LogStarting(_logger, _config.Name, _config.Mode, PrimaryAddress, _config.VirtualRouterId, Router.Options.Priority, (int)_config.Version);
        using var link = _config.Mode == VrrpMode.Kernel ? new LinkMonitor(_config.Interface) : null;
        using var poller = link is null ? new LoopPoller(_transport.PollDescriptor) : new LoopPoller(_transport.PollDescriptor, link.Descriptor);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _poller = poller;
        var finished = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loop = new Thread(() =>
        {
            try
            {
                Loop(poller, link, cancellationToken);
                finished.SetResult();
            }
            catch (Exception e)
            {
                finished.SetException(e);
            }
        })
        { IsBackground = true, Name = $"vrrp-{_config.Name}" };
        var background = _checks.Select((c, i) => CheckLoopAsync(i, c, stop.Token)).ToList();
        _notifications = _config.Notify is null ? null : Channel.CreateBounded<VrrpTransition>(new BoundedChannelOptions(MaxQueuedNotifications)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.DropWrite,
        });
        var notifier = _notifications is null ? Task.CompletedTask : NotifyLoopAsync(_notifications.Reader);

        try
        {
            loop.Start();
            await finished.Task.ConfigureAwait(false);
        }
        finally
        {
            _notifications?.Writer.TryComplete(); // the loop has ended: what it queued (the final INITIALIZE too) still runs
            await notifier.ConfigureAwait(false);
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(background).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            _poller = null;
            var timers = Latency.Summary(HostLatencyKind.Timer);
            var packets = Latency.Summary(HostLatencyKind.Packet);
            LogLatencySummary(_logger, _config.Name, timers.Count, timers.P50, timers.P99, timers.Max,
                packets.Count, packets.P50, packets.P99, packets.Max);
            LogStopped(_logger, _config.Name);
        }
    }

    /// <summary>
    /// The host loop, keepalived's scheduler in shape: wait in ppoll until the router's next deadline, a
    /// datagram, or a post from another thread; read every waiting datagram and step it at the tick the
    /// kernel received it; fire the timers that are due; act on the Ready at once from this thread. No
    /// thread-pool hop or timer queue stands between an event and the packets it causes.
    /// </summary>
    private void Loop(LoopPoller poller, LinkMonitor? link, CancellationToken cancellationToken)
    {
        using var wake = cancellationToken.Register(poller.Wake);
        RemoveStaleVips();
        WarmUp();
        poller.Wake(); // compiles the path a SIGTERM takes to wake this loop (one spare wake-up, nothing due)
        var linkUp = link?.IsUp ?? true;
        Router.SetInterfaceUp(Clock(NowTicks), linkUp);
        Router.Start(Clock(NowTicks));
        Perform(Router.TakeReady());
        var buffer = new byte[ReceiveBufferBytes];
        while (!cancellationToken.IsCancellationRequested)
        {
            var due = Router.NextDeadlineTick;
            poller.Wait(due == long.MaxValue ? Stopwatch.GetTimestamp() + Stopwatch.Frequency : WakeTimestampOf(due));
            _wokeTimestamp = Stopwatch.GetTimestamp();
            ReceiveAll(buffer); // first: datagrams are stepped at their (earlier) receive ticks
            var now = Clock(NowTicks);
            while (_inputs.Reader.TryRead(out var input))
            {
                Router.RecordCheck(now, input.Check, input.Succeeded);
            }

            if (link is not null && poller.IsReadable(1) && link.DrainAndRead() != linkUp)
            {
                linkUp = !linkUp;
                LogInterface(_logger, _config.Name, _config.Interface, linkUp);
                Router.SetInterfaceUp(now, linkUp);
            }

            Router.Tick(now);
            Perform(Router.TakeReady(), due <= now ? due : long.MaxValue);
            _lastPriority = Router.EffectivePriority;
        }

        Router.Shutdown(Clock(NowTicks));
        Perform(Router.TakeReady());
    }

    /// <summary>
    /// Steps every waiting datagram at the tick the kernel stamped it, clamped so time never runs backwards.
    /// A datagram that arrived before a deadline is therefore seen before that timer fires, even when this
    /// thread was descheduled past the deadline — as it would have been on an idle host. That is what keeps
    /// an equal-priority backup from becoming master over an advert that was already in its socket.
    /// </summary>
    private void ReceiveAll(byte[] buffer)
    {
        for (var read = 0; read < MaxDatagramsPerWakeup; read++)
        {
            var n = _transport.TryReceive(buffer, out var arrival);
            if (n <= 0)
            {
                return;
            }

            var tick = arrival == 0 ? NowTicks : (arrival - _startTimestamp) * VrrpTicks.PerSecond / Stopwatch.Frequency;
            StepPacket(buffer.AsSpan(0, n), Clock(tick), arrival);
        }
    }

    /// <summary>Every call into the router goes through here: the largest tick handed in so far.</summary>
    private long Clock(long tick) => _lastTick = Math.Max(_lastTick, tick);

    /// <summary>The first Stopwatch timestamp whose tick is <paramref name="tick"/>.</summary>
    private long WakeTimestampOf(long tick) =>
        _startTimestamp + (long)Math.Ceiling(tick * (double)Stopwatch.Frequency / VrrpTicks.PerSecond);

    private void StepPacket(ReadOnlySpan<byte> packet, long tick, long arrival)
    {
        var reason = VrrpPacketCodec.TryDecode(packet, _filter, out var advert);
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

        Router.Step(tick, advert);
        if (arrival != 0)
        {
            _batchArrivals.Add(arrival);
            if (advert.Priority == 0)
            {
                LogMasterLeaving(_logger, _config.Name, advert.Source, Milliseconds(arrival, Stopwatch.GetTimestamp()));
            }
        }
    }

    /// <summary>
    /// Runs the paths a takeover needs once, with no effect outside this process, so the first failover
    /// does not pay for JIT compilation: a throwaway router with our options goes Backup → Master →
    /// Backup, and an advert is encoded and decoded. (The netlink path is warmed by RemoveStaleVips and
    /// the GARP socket is opened with the holder.)
    /// </summary>
    private void WarmUp()
    {
        var scratch = new VrrpRouter(Router.Options with { Tracks = [] });
        scratch.Start(0);
        var afterMasterDown = scratch.MasterDownIntervalTicks + Router.Options.TieBreakDelayTicks + 1;
        scratch.Tick(afterMasterDown);
        var higher = new VrrpAdvertisement(Router.Options.Version, Router.Options.VirtualRouterId, 255,
            Router.Options.AdvertIntervalTicks, new Ipv4(uint.MaxValue), PrimaryAddress, Router.Options.VirtualAddresses);
        scratch.Step(afterMasterDown, higher);
        scratch.Shutdown(afterMasterDown);
        scratch.TakeReady();
        var o = Router.Options;
        var n = VrrpPacketCodec.Encode(_sendBuffer, o.Version, o.VirtualRouterId, o.Priority, o.AdvertIntervalTicks,
            PrimaryAddress, _targets[0], o.VirtualAddresses, o.AuthType, o.AuthData);
        VrrpPacketCodec.TryDecode(_sendBuffer.AsSpan(0, n), _filter, out _);
        PrefixOf(o.VirtualAddresses[0]);
        GratuitousArp.BuildFrame(new byte[6], o.VirtualAddresses[0]);
        LinuxNative.PrepareStubs();

        // What a takeover runs for the first time and cannot run here without sending: compile it now.
        foreach (var target in _targets)
        {
            _transport.Prepare(target);
        }

        foreach (var address in o.VirtualAddresses)
        {
            _holder.Prepare(address);
        }

        JitWarmUp.Prepare(typeof(VrrpInstance), nameof(SendAdvert), nameof(Attempt));
        using var meter = new Meter("trireme.vrrp.warm-up");
        new HostLatency(meter, "warm-up").Record(HostLatencyKind.Timer, 0, 0);
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
        if (dueTick != long.MaxValue && !ready.IsEmpty) // empty: a packet moved the deadline before it fired
        {
            cause = TimestampOf(dueTick);
            Latency.Record(HostLatencyKind.Timer, cause, done);
        }

        Report(ready, cause == 0 ? 0 : Milliseconds(cause, done), cause == 0 ? 0 : Math.Max(0, Milliseconds(cause, _wokeTimestamp)),
            Milliseconds(acting, done));
    }

    private static double Milliseconds(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    private void Act(VrrpReady ready)
    {
        if (ready.IsEmpty)
        {
            return;
        }

        // Plain loops and one try per action, no closures or LINQ: this runs at the moment of a takeover,
        // and anything compiled on first use here would be paid then. Order: see VrrpReady.
        foreach (var advert in ready.Adverts)
        {
            SendAdvert(advert.Priority);
        }

        foreach (var address in ready.RemoveAddresses)
        {
            Attempt(HolderAction.Remove, address);
        }

        foreach (var address in ready.AddAddresses)
        {
            Attempt(HolderAction.Add, address);
        }

        for (var round = 0; round < ready.GarpRounds; round++)
        {
            for (var i = 0; i < _config.VirtualIps.Count; i++)
            {
                Attempt(HolderAction.Announce, _config.VirtualIps[i].Address);
            }
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
        foreach (var lower in ready.Reannounced)
        {
            LogReannounced(_logger, _config.Name, lower, ready.GarpRounds, Router.Options.ReannounceDelayTicks, causeMs);
        }

        foreach (var transition in ready.Transitions)
        {
            lock (_stateLock)
            {
                _state = transition.To;
            }

            _transitions.Add(1, new KeyValuePair<string, object?>("instance", _config.Name), new KeyValuePair<string, object?>("to", transition.To.ToString()));
            LogTransition(_logger, _config.Name, transition.From, transition.To, transition.Reason, transition.Priority, causeMs, wokeMs, actMs);
            StateChanged?.Invoke(transition);
            if (_notifications is not null && !_notifications.Writer.TryWrite(transition))
            {
                LogActionFailed(_logger, _config.Name, "notify", "too many notifications waiting; this one was dropped");
            }
        }
    }

    private void SendAdvert(byte priority)
    {
        var o = Router.Options;
        for (var t = 0; t < _targets.Length; t++)
        {
            var target = _targets[t];
            var n = VrrpPacketCodec.Encode(_sendBuffer, o.Version, o.VirtualRouterId, priority, o.AdvertIntervalTicks,
                PrimaryAddress, target, o.VirtualAddresses, o.AuthType, o.AuthData);
            try
            {
                _transport.Send(_sendBuffer.AsSpan(0, n), target);
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
            {
                LogActionFailed(_logger, _config.Name, "send advert", e.Message);
            }
        }
    }

    /// <summary>Other threads hand inputs to the loop here; the loop drains them on its next wake-up.</summary>
    private void Post(Input input)
    {
        if (!_inputs.Writer.TryWrite(input))
        {
            Interlocked.Increment(ref _droppedInputs);
        }

        _poller?.Wake();
    }

    private async Task CheckLoopAsync(int index, IVrrpCheck check, CancellationToken cancellationToken)
    {
        var interval = _config.Track[index].Interval;
        while (!cancellationToken.IsCancellationRequested)
        {
            var ok = await check.RunAsync(cancellationToken).ConfigureAwait(false);
            Post(new Input(index, ok));
            await Task.Delay(interval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A VIP left behind by a killed instance would answer ARP from a backup; keepalived also
    /// starts by removing its VIPs.</summary>
    private void RemoveStaleVips()
    {
        foreach (var (address, _) in _config.VirtualIps)
        {
            Attempt(HolderAction.Remove, address);
        }
    }

    /// <summary>Starts the notify command for each transition, in order, off the loop thread: a fork and
    /// exec can take milliseconds, and the loop must be free for the next packet.</summary>
    private async Task NotifyLoopAsync(ChannelReader<VrrpTransition> transitions)
    {
        await foreach (var transition in transitions.ReadAllAsync().ConfigureAwait(false))
        {
            RunNotify(transition);
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

    private int PrefixOf(Ipv4 address)
    {
        for (var i = 0; i < _config.VirtualIps.Count; i++)
        {
            if (_config.VirtualIps[i].Address == address)
            {
                return _config.VirtualIps[i].PrefixLength;
            }
        }

        throw new InvalidOperationException($"{address} is not one of this instance's VIPs"); // a router bug
    }

    private void Attempt(HolderAction action, Ipv4 address)
    {
        try
        {
            switch (action)
            {
                case HolderAction.Remove:
                    _holder.Remove(address, PrefixOf(address));
                    break;
                case HolderAction.Add:
                    _holder.Add(address, PrefixOf(address));
                    break;
                default:
                    _holder.Announce(address);
                    break;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            LogActionFailed(_logger, _config.Name, action switch
            {
                HolderAction.Remove => "remove VIP",
                HolderAction.Add => "add VIP",
                _ => "gratuitous ARP",
            }, e.Message);
        }
    }

    private enum HolderAction
    {
        Remove,
        Add,
        Announce,
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

    /// <summary>One tracked check's result, posted by its check loop.</summary>
    private readonly record struct Input(int Check, bool Succeeded);

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

    [LoggerMessage(EventId = 6008, Level = LogLevel.Information, Message = "vrrp {Name}: answered lower master {Source} at once: advert and {GarpRounds} GARP rounds, again in {DelayMs} ms; host latency {LatencyMs:F2} ms")]
    private static partial void LogReannounced(ILogger logger, string name, Ipv4 source, int garpRounds, int delayMs, double latencyMs);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Information, Message = "vrrp {Name}: master {Source} is leaving (priority 0); stepped {LatencyMs:F2} ms after it arrived")]
    private static partial void LogMasterLeaving(ILogger logger, string name, Ipv4 source, double latencyMs);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Information, Message = "vrrp {Name}: host latency ms: timer n={TimerCount} p50={TimerP50:F2} p99={TimerP99:F2} max={TimerMax:F2}; packet n={PacketCount} p50={PacketP50:F2} p99={PacketP99:F2} max={PacketMax:F2}")]
    private static partial void LogLatencySummary(ILogger logger, string name, long timerCount, double timerP50, double timerP99, double timerMax,
        long packetCount, double packetP50, double packetP99, double packetMax);
}
