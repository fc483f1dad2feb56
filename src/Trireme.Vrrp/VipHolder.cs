using Trireme.Vrrp.Core;

namespace Trireme.Vrrp;

/// <summary>Where the VIP lives while this instance is master.</summary>
public interface IVipHolder : IDisposable
{
    void Add(Ipv4 address, int prefixLength);

    void Remove(Ipv4 address, int prefixLength);

    /// <summary>One gratuitous ARP per address; a no-op where there is no link layer.</summary>
    void Announce(Ipv4 address);

    /// <summary>Readies what <see cref="Add"/> and <see cref="Announce"/> need for
    /// <paramref name="address"/> — its ARP frame and the compiled code — without touching the
    /// interface, so becoming master compiles nothing.</summary>
    void Prepare(Ipv4 address)
    {
    }
}

/// <summary>A real NIC: netlink for the address, AF_PACKET for the gratuitous ARP. Both sockets are
/// opened up front, so becoming master costs only the sends.</summary>
public sealed class KernelVipHolder : IVipHolder
{
    private readonly (int Index, byte[] Mac) _link;
    private readonly NetlinkAddresses _netlink;
    private readonly GratuitousArp _arp;

    public KernelVipHolder(string interfaceName)
    {
        _link = LinuxNative.ReadInterface(interfaceName);
        _netlink = new NetlinkAddresses();
        _arp = new GratuitousArp(_link.Index, _link.Mac);
    }

    public int InterfaceIndex => _link.Index;

    public void Add(Ipv4 address, int prefixLength) => _netlink.Add(_link.Index, address, prefixLength);

    public void Remove(Ipv4 address, int prefixLength) => _netlink.Remove(_link.Index, address, prefixLength);

    public void Announce(Ipv4 address) => _arp.Send(address);

    public void Prepare(Ipv4 address)
    {
        _arp.Prepare(address);
        _netlink.Prepare();
        JitWarmUp.Prepare(typeof(KernelVipHolder), nameof(Add), nameof(Remove), nameof(Announce));
    }

    public void Dispose()
    {
        _netlink.Dispose();
        _arp.Dispose();
    }
}

/// <summary>
/// Dev mode: every 127.x address is already local, so "holding" the VIP is a fact other roles learn
/// from <see cref="VrrpInstance.VipChanged"/> — the balancer binds its frontend there only while master.
/// </summary>
public sealed class LoopbackVipHolder : IVipHolder
{
    public void Add(Ipv4 address, int prefixLength)
    {
    }

    public void Remove(Ipv4 address, int prefixLength)
    {
    }

    public void Announce(Ipv4 address)
    {
    }

    public void Dispose()
    {
    }
}
