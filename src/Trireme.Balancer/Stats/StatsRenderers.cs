using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Trireme.Balancer.Stats;

/// <summary>
/// The four views of a <see cref="StatsSnapshot"/>. CSV uses HAProxy's column names (pxname, svname,
/// qcur, scur, stot, bin, bout, status, chkdown, downtime, check_status ...) so that scripts written
/// against HAProxy's <c>;csv</c> read it; Prometheus names follow the exporter's
/// <c>haproxy_server_*</c> shapes under a <c>trireme_lb_</c> prefix.
/// </summary>
public static class StatsRenderers
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Json(StatsSnapshot snapshot) =>
        JsonSerializer.Serialize(snapshot, new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = true });

    public static string Csv(StatsSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var csv = new StringBuilder();
        csv.AppendLine("# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,ereq,econ,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,check_status,check_duration,admin");
        foreach (var f in snapshot.Frontends)
        {
            csv.AppendLine(Inv, $"{f.Name},FRONTEND,,,{f.CurrentSessions},{f.MaxSessions},{f.MaxConn},{f.TotalSessions},{f.BytesIn},{f.BytesOut},{f.Rejected},,,OPEN,,,,,,,,,,");
        }

        foreach (var b in snapshot.Backends)
        {
            foreach (var s in b.Servers)
            {
                csv.AppendLine(Inv, $"{b.Name},{s.Name},{s.QueueCurrent},,{s.CurrentSessions},{s.MaxSessions},{s.MaxConn},{s.TotalSessions},{s.BytesIn},{s.BytesOut},,{s.ConnectErrors},{s.Redispatches},{s.Status},{s.Weight},{(s.Backup ? 0 : 1)},{(s.Backup ? 1 : 0)},{s.FailedChecks},{s.DownTransitions},{(long)s.LastChangeSeconds},{(long)s.DowntimeSeconds},{s.LastCheck},{s.LastCheckMilliseconds?.ToString("0.###", Inv)},{s.Admin}");
            }

            csv.AppendLine(Inv, $"{b.Name},BACKEND,{b.QueueCurrent},{b.QueueMax},{b.CurrentSessions},{b.MaxSessions},,{b.TotalSessions},{b.BytesIn},{b.BytesOut},,{b.ConnectFailures},,{b.Status},,{b.ServersUp},,,,,,,,");
        }

        return csv.ToString();
    }

    public static string Prometheus(StatsSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var p = new StringBuilder();
        void Metric(string name, string type, string help, IEnumerable<(string Labels, double Value)> samples)
        {
            p.Append("# HELP trireme_lb_").Append(name).Append(' ').AppendLine(help);
            p.Append("# TYPE trireme_lb_").Append(name).Append(' ').AppendLine(type);
            foreach (var (labels, value) in samples)
            {
                p.Append("trireme_lb_").Append(name).Append('{').Append(labels).Append("} ")
                    .AppendLine(value.ToString("R", Inv));
            }
        }

        var fronts = snapshot.Frontends.Select(f => (Labels: $"frontend=\"{f.Name}\"", F: f)).ToList();
        Metric("frontend_current_sessions", "gauge", "Client connections open now.", fronts.Select(x => (x.Labels, (double)x.F.CurrentSessions)));
        Metric("frontend_sessions_total", "counter", "Client connections accepted.", fronts.Select(x => (x.Labels, (double)x.F.TotalSessions)));
        Metric("frontend_bytes_in_total", "counter", "Bytes received from clients.", fronts.Select(x => (x.Labels, (double)x.F.BytesIn)));
        Metric("frontend_bytes_out_total", "counter", "Bytes sent to clients.", fronts.Select(x => (x.Labels, (double)x.F.BytesOut)));
        Metric("frontend_rejected_total", "counter", "Clients closed without a server.", fronts.Select(x => (x.Labels, (double)x.F.Rejected)));

        var backs = snapshot.Backends.Select(b => (Labels: $"backend=\"{b.Name}\"", B: b)).ToList();
        Metric("backend_up", "gauge", "1 when at least one server is UP.", backs.Select(x => (x.Labels, x.B.Status == "UP" ? 1.0 : 0.0)));
        Metric("backend_active_servers", "gauge", "Servers UP and not in maintenance.", backs.Select(x => (x.Labels, (double)x.B.ServersUp)));
        Metric("backend_current_queue", "gauge", "Connections waiting for a server slot.", backs.Select(x => (x.Labels, (double)x.B.QueueCurrent)));
        Metric("backend_queue_timeouts_total", "counter", "Connections that waited too long in the queue.", backs.Select(x => (x.Labels, (double)x.B.QueueTimeouts)));
        Metric("backend_rejected_total", "counter", "Connections refused: no server or queue full.", backs.Select(x => (x.Labels, (double)(x.B.RejectedNoServer + x.B.RejectedQueueFull))));

        var servers = snapshot.Backends.SelectMany(b => b.Servers.Select(s => (Labels: $"backend=\"{b.Name}\",server=\"{s.Name}\"", S: s))).ToList();
        Metric("server_up", "gauge", "1 when the server is UP by its checks.", servers.Select(x => (x.Labels, x.S.Up ? 1.0 : 0.0)));
        Metric("server_current_sessions", "gauge", "Connections open to the server.", servers.Select(x => (x.Labels, (double)x.S.CurrentSessions)));
        Metric("server_sessions_total", "counter", "Connections sent to the server.", servers.Select(x => (x.Labels, (double)x.S.TotalSessions)));
        Metric("server_bytes_in_total", "counter", "Bytes forwarded to the server.", servers.Select(x => (x.Labels, (double)x.S.BytesIn)));
        Metric("server_bytes_out_total", "counter", "Bytes forwarded from the server.", servers.Select(x => (x.Labels, (double)x.S.BytesOut)));
        Metric("server_connection_errors_total", "counter", "Failed connects to the server.", servers.Select(x => (x.Labels, (double)x.S.ConnectErrors)));
        Metric("server_check_failures_total", "counter", "Failed health checks.", servers.Select(x => (x.Labels, (double)x.S.FailedChecks)));
        Metric("server_check_up_down_total", "counter", "UP to DOWN transitions.", servers.Select(x => (x.Labels, (double)x.S.DownTransitions)));
        Metric("server_downtime_seconds_total", "counter", "Time spent DOWN.", servers.Select(x => (x.Labels, x.S.DowntimeSeconds)));
        Metric("process_timeouts_total", "counter", "Sessions closed by an idle timeout.", [(string.Empty, (double)snapshot.Timeouts)]);
        return p.ToString();
    }

    public static string Html(StatsSnapshot snapshot, string adminPath)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var h = new StringBuilder();
        static string E(object? value) => WebUtility.HtmlEncode(Convert.ToString(value, Inv) ?? "");
        h.AppendLine("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Trireme balancer statistics</title>");
        h.AppendLine("<style>body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse;margin-bottom:18px}"
            + "td,th{border:1px solid #999;padding:2px 6px;text-align:right}th{background:#20507a;color:#fff}"
            + "td.n{text-align:left}tr.up{background:#c0ffc0}tr.down{background:#ffa0a0}tr.going{background:#ffffa0}"
            + "tr.maint{background:#c0c0ff}tr.drain{background:#ffd080}tr.total{background:#e0e0e0;font-weight:bold}</style>");
        h.AppendLine("</head><body><h1>Trireme balancer statistics</h1>");
        h.Append(Inv, $"<p>Reloads: {snapshot.Reloads} &middot; idle timeouts: {snapshot.Timeouts} &middot; ");
        h.AppendLine("<a href=\"stats.csv\">CSV</a> &middot; <a href=\"stats.json\">JSON</a> &middot; <a href=\"metrics\">Prometheus</a></p>");
        h.AppendLine("<h2>Frontends</h2><table><tr><th>name</th><th>bind</th><th>backend</th><th>cur</th><th>max</th><th>limit</th><th>total</th><th>bytes in</th><th>bytes out</th><th>rejected</th><th>status</th></tr>");
        foreach (var f in snapshot.Frontends)
        {
            h.AppendLine(Inv, $"<tr class=\"up\"><td class=\"n\">{E(f.Name)}</td><td>{E(f.Bind)}</td><td class=\"n\">{E(f.Backend)}</td><td>{f.CurrentSessions}</td><td>{f.MaxSessions}</td><td>{(f.MaxConn == 0 ? "" : f.MaxConn)}</td><td>{f.TotalSessions}</td><td>{f.BytesIn}</td><td>{f.BytesOut}</td><td>{f.Rejected}</td><td>OPEN</td></tr>");
        }

        h.AppendLine("</table>");
        foreach (var b in snapshot.Backends)
        {
            h.AppendLine(Inv, $"<h2>Backend {E(b.Name)} ({E(b.Balance)}{(b.StickSize is { } size ? $", stick table {b.StickEntries}/{size}" : "")})</h2>");
            h.AppendLine("<table><tr><th>server</th><th>address</th><th>status</th><th>last check</th><th>check ms</th><th>weight</th><th>act/bck</th><th>queue</th><th>cur</th><th>max</th><th>limit</th><th>total</th><th>bytes in</th><th>bytes out</th><th>conn errors</th><th>redispatch</th><th>chk fail</th><th>UP&rarr;DOWN</th><th>DOWN&rarr;UP</th><th>downtime s</th><th>last change s</th><th>admin</th></tr>");
            foreach (var s in b.Servers)
            {
                var css = s.Admin == "MAINT" ? "maint" : s.Admin == "DRAIN" ? "drain" : !s.Up ? "down" : s.Status.Contains('/', StringComparison.Ordinal) ? "going" : "up";
                h.Append(Inv, $"<tr class=\"{css}\"><td class=\"n\">{E(s.Name)}</td><td>{E(s.Address)}</td><td>{E(s.Status)}</td><td class=\"n\">{E(s.LastCheck)}</td><td>{s.LastCheckMilliseconds?.ToString("0.0", Inv)}</td><td>{s.Weight}</td><td>{(s.Backup ? "bck" : "act")}</td><td>{s.QueueCurrent}</td><td>{s.CurrentSessions}</td><td>{s.MaxSessions}</td><td>{(s.MaxConn == 0 ? "" : s.MaxConn)}</td><td>{s.TotalSessions}</td><td>{s.BytesIn}</td><td>{s.BytesOut}</td><td>{s.ConnectErrors}</td><td>{s.Redispatches}</td><td>{s.FailedChecks}</td><td>{s.DownTransitions}</td><td>{s.UpTransitions}</td><td>{s.DowntimeSeconds:0.0}</td><td>{s.LastChangeSeconds:0}</td>");
                h.Append("<td class=\"n\">");
                foreach (var state in (string[])["ready", "drain", "maint"])
                {
                    h.Append(Inv, $"<form method=\"post\" action=\"{E(adminPath)}\" style=\"display:inline\"><input type=\"hidden\" name=\"backend\" value=\"{E(b.Name)}\"><input type=\"hidden\" name=\"server\" value=\"{E(s.Name)}\"><input type=\"hidden\" name=\"state\" value=\"{state}\"><button>{state}</button></form>");
                }

                h.AppendLine("</td></tr>");
            }

            h.AppendLine(Inv, $"<tr class=\"total\"><td class=\"n\">Backend</td><td></td><td>{E(b.Status)} {b.ServersUp}/{b.ServersTotal}</td><td></td><td></td><td></td><td></td><td>{b.QueueCurrent} (max {b.QueueMax})</td><td>{b.CurrentSessions}</td><td>{b.MaxSessions}</td><td></td><td>{b.TotalSessions}</td><td>{b.BytesIn}</td><td>{b.BytesOut}</td><td>{b.ConnectFailures}</td><td></td><td></td><td></td><td></td><td></td><td></td><td>no server {b.RejectedNoServer}, queue full {b.RejectedQueueFull}, queue timeout {b.QueueTimeouts}</td></tr></table>");
        }

        h.AppendLine("</body></html>");
        return h.ToString();
    }
}
