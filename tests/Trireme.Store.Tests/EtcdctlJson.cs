using System.Text;
using System.Text.Json;

namespace Trireme.Store.Tests;

/// <summary>Reads what real etcdctl prints with <c>-w json</c>.</summary>
internal static class EtcdctlJson
{
    /// <summary>(key, mod_revision) of every event in <c>etcdctl watch -w json</c> output, one response
    /// per line; lines that are not JSON objects (etcdctl's own notes) are skipped.</summary>
    public static List<(string Key, long ModRevision)> WatchEvents(string output)
    {
        var events = new List<(string, long)>();
        foreach (var line in output.Split('\n').Where(l => l.StartsWith('{')))
        {
            using var document = JsonDocument.Parse(line);
            if (document.RootElement.TryGetProperty("Events", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                foreach (var e in list.EnumerateArray())
                {
                    var kv = e.GetProperty("kv");
                    events.Add((Encoding.UTF8.GetString(Convert.FromBase64String(kv.GetProperty("key").GetString()!)),
                        kv.GetProperty("mod_revision").GetInt64()));
                }
            }
        }

        return events;
    }
}
