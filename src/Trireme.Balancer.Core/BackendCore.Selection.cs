namespace Trireme.Balancer.Core;

// Choice of server. The pool is the selectable active servers, or, when none is, the selectable backup
// servers (all of them share the load, as HAProxy's "option allbackups").
public sealed partial class BackendCore
{
    private readonly List<Server> _pool = [];

    private List<Server> SelectablePool(Server? exclude)
    {
        _pool.Clear();
        foreach (var server in _servers)
        {
            if (server.IsSelectable && !server.Settings.Backup && server != exclude && server.Settings.Weight > 0)
            {
                _pool.Add(server);
            }
        }

        if (_pool.Count > 0)
        {
            return _pool;
        }

        foreach (var server in _servers)
        {
            if (server.IsSelectable && server.Settings.Backup && server != exclude && server.Settings.Weight > 0)
            {
                _pool.Add(server);
            }
        }

        return _pool;
    }

    /// <summary>
    /// Smooth weighted round robin: every pick adds each server's weight to its running score, takes the
    /// highest, and subtracts the total from the winner. Weights 3:1 give A A B A, not A A A B, and a
    /// server at maxconn simply sits the round out. Null when every server is full.
    /// </summary>
    private static Server? PickRoundRobin(List<Server> pool)
    {
        Server? best = null;
        var total = 0;
        foreach (var server in pool)
        {
            if (!server.HasFreeSlot)
            {
                continue;
            }

            server.CurrentWeight += server.Settings.Weight;
            total += server.Settings.Weight;
            if (best is null || server.CurrentWeight > best.CurrentWeight)
            {
                best = server;
            }
        }

        if (best is not null)
        {
            best.CurrentWeight -= total;
        }

        return best;
    }

    /// <summary>The server with the fewest sessions per unit of weight; ties rotate so equal servers
    /// share new connections. Null when every server is full.</summary>
    private Server? PickLeastConn(List<Server> pool)
    {
        Server? best = null;
        var start = pool.Count == 0 ? 0 : _leastConnCursor % pool.Count;
        for (var i = 0; i < pool.Count; i++)
        {
            var server = pool[(start + i) % pool.Count];
            if (!server.HasFreeSlot)
            {
                continue;
            }

            // a/wa < b/wb, in integers: a*wb < b*wa.
            if (best is null || (long)server.CurrentSessions * best.Settings.Weight
                < (long)best.CurrentSessions * server.Settings.Weight)
            {
                best = server;
            }
        }

        _leastConnCursor++;
        return best;
    }

    /// <summary>HAProxy's map-based source hash: the address hash modulo the pool's total weight picks a
    /// slot in the weighted server map. The same client lands on the same server while the pool stays
    /// the same.</summary>
    private static Server PickBySource(List<Server> pool, UInt128 client)
    {
        var total = 0L;
        foreach (var server in pool)
        {
            total += server.Settings.Weight;
        }

        var slot = (long)(MixHash(client) % (ulong)total);
        foreach (var server in pool)
        {
            slot -= server.Settings.Weight;
            if (slot < 0)
            {
                return server;
            }
        }

        return pool[^1];
    }

    /// <summary>A fixed 64-bit mix (splitmix64 finaliser over both halves), the same in every process
    /// so that every balancer node sends a client to the same server.</summary>
    internal static ulong MixHash(UInt128 value)
    {
        var x = (ulong)(value >> 64) ^ ((ulong)value * 0x9E3779B97F4A7C15UL);
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9UL;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return x;
    }
}
