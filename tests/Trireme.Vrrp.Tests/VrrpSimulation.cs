using Trireme.Vrrp.Core;

namespace Trireme.Vrrp.Tests;

/// <summary>
/// Several VRRP routers on one simulated segment, in 1 ms steps. Every advert goes through the real codec
/// (encode, then decode with the receiver's filter). The network drops, delays and partitions packets as
/// a seeded Random decides; a crashed router simply stops (kill -9: no priority-0 advert).
/// </summary>
internal sealed class VrrpSimulation
{
    private readonly Random _random;

    private readonly List<(long At, int From, int To, byte[] Packet)> _inFlight = [];
    private readonly byte[] _buffer = new byte[VrrpPacketCodec.MaxPacketBytes];

    public VrrpSimulation(int seed, IReadOnlyList<VrrpRouterOptions> options)
    {
        _random = new Random(seed);
        Options = options;
        Routers = options.Select(o => new VrrpRouter(o)).ToArray();
        Alive = Enumerable.Repeat(true, Routers.Length).ToArray();
        Group = new int[Routers.Length];
        Filters = options.Select(o => new VrrpReceiveFilter(o.Version, o.VirtualRouterId, o.AuthType, o.AuthData, o.AdvertIntervalTicks)).ToArray();
    }

    public IReadOnlyList<VrrpRouterOptions> Options { get; }

    public VrrpRouter[] Routers { get; }

    public bool[] Alive { get; }

    /// <summary>Partition group per router: packets cross only between equal groups.</summary>
    public int[] Group { get; }

    private VrrpReceiveFilter[] Filters { get; }

    public long Now { get; private set; }

    public double LossRate { get; set; }

    public int MaxDelayTicks { get; set; } = 1;

    public long DeliveredPackets { get; private set; }

    public VrrpRejectCounters Rejects { get; } = new();

    public int MasterCount => Routers.Where((r, i) => Alive[i] && r.State == VrrpState.Master).Count();

    public int? SingleMaster
    {
        get
        {
            var masters = Enumerable.Range(0, Routers.Length).Where(i => Alive[i] && Routers[i].State == VrrpState.Master).ToArray();
            return masters.Length == 1 ? masters[0] : null;
        }
    }

    public void StartAll()
    {
        for (var i = 0; i < Routers.Length; i++)
        {
            Routers[i].Start(Now);
            Flush(i);
        }
    }

    public void Crash(int i)
    {
        Alive[i] = false;
        Routers[i].TakeReady();
        if (_holds.Length > i)
        {
            _holds[i] = false; // a restarted host removes stale VIPs first
        }
    }

    public void Restart(int i)
    {
        Routers[i] = new VrrpRouter(Options[i]);
        Alive[i] = true;
        Routers[i].Start(Now);
        Flush(i);
    }

    /// <summary>Advances by <paramref name="ticks"/> ms, calling <paramref name="check"/> after each.</summary>
    public void Run(long ticks, Action? check = null)
    {
        var end = Now + ticks;
        while (Now < end)
        {
            Now++;
            Deliver();
            for (var i = 0; i < Routers.Length; i++)
            {
                if (Alive[i] && Routers[i].NextDeadlineTick <= Now)
                {
                    Routers[i].Tick(Now);
                    Flush(i);
                }
            }

            check?.Invoke();
        }
    }

    private void Deliver()
    {
        for (var k = 0; k < _inFlight.Count;)
        {
            var (at, from, to, packet) = _inFlight[k];
            if (at > Now)
            {
                k++;
                continue;
            }

            _inFlight.RemoveAt(k);
            if (!Alive[to])
            {
                continue;
            }

            var reason = VrrpPacketCodec.TryDecode(packet, Filters[to], out var advert);
            if (reason != VrrpRejectReason.None)
            {
                Rejects.Add(reason);
                continue;
            }

            DeliveredPackets++;
            Routers[to].Step(Now, advert);
            Flush(to);
        }
    }

    /// <summary>Whether each router's host holds the VIP, from applying its Ready lists in order.</summary>
    public bool[] HoldsVip => _holds;

    private bool[] _holds = [];

    private void Flush(int from)
    {
        var ready = Routers[from].TakeReady();
        if (_holds.Length != Routers.Length)
        {
            _holds = new bool[Routers.Length];
        }

        if (ready.RemoveAddresses.Count > 0)
        {
            _holds[from] = false;
        }

        if (ready.AddAddresses.Count > 0)
        {
            _holds[from] = true;
        }

        // Invariant: after the host performs a Ready, it holds the VIP exactly when the router is master.
        if (_holds[from] != (Routers[from].State == VrrpState.Master))
        {
            throw new InvalidOperationException($"router {from} holds VIP={_holds[from]} in state {Routers[from].State} at {Now}");
        }
        foreach (var advert in ready.Adverts)
        {
            var o = Options[from];
            var n = VrrpPacketCodec.Encode(_buffer, o.Version, o.VirtualRouterId, advert.Priority, o.AdvertIntervalTicks,
                o.PrimaryAddress, VrrpPacketCodec.MulticastGroup, o.VirtualAddresses, o.AuthType, o.AuthData);
            var packet = _buffer[..n];
            for (var to = 0; to < Routers.Length; to++)
            {
                if (to == from || Group[to] != Group[from] || _random.NextDouble() < LossRate)
                {
                    continue;
                }

                _inFlight.Add((Now + _random.Next(1, MaxDelayTicks + 1), from, to, packet));
            }
        }
    }
}
