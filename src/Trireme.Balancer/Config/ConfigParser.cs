using Trireme.Balancer.Core;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Trireme.Balancer.Config;

/// <summary>
/// Reads the balancer's YAML (see docs/balancer.md for every field) into a <see cref="BalancerConfig"/>,
/// or refuses it with a <see cref="ConfigException"/> naming the field and line. Nothing starts before
/// this has succeeded, and a reload that fails here leaves the running configuration untouched.
/// </summary>
public static class ConfigParser
{
    // Bounds on what a configuration may ask for: each keeps one typo from becoming a resource problem.
    private const int MaxConnLimit = 1_000_000;
    private const int MaxServersPerBackend = 1024;
    private const int MaxQueueLimit = 100_000;
    private const int MaxStickSize = 10_000_000;
    private const int MaxConfigBytes = 4 * 1024 * 1024;

    private static readonly TimeSpan OneMs = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan OneDay = TimeSpan.FromDays(1);
    private static readonly TimeSpan OneYear = TimeSpan.FromDays(365);

    public static BalancerConfig ParseFile(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new ConfigException($"configuration file {full} does not exist");
        }

        if (new FileInfo(full).Length > MaxConfigBytes)
        {
            throw new ConfigException($"configuration file {full} is larger than {MaxConfigBytes} bytes");
        }

        return Parse(File.ReadAllText(full), System.IO.Path.GetDirectoryName(full)!);
    }

    /// <summary>Parses YAML text; relative file names (passwordFile, caFile, kubeconfig) resolve
    /// against <paramref name="baseDirectory"/>.</summary>
    public static BalancerConfig Parse(string yaml, string baseDirectory)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new ConfigException("(syntax)", e.Start.Line, e.InnerException?.Message ?? e.Message);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException
            or OverflowException or IndexOutOfRangeException)
        {
            // YamlDotNet throws these for some malformed documents (found by the fuzz test): it is still
            // bad input, so it becomes a refusal like any other syntax error.
            throw new ConfigException("(syntax)", 1, $"the YAML could not be read ({e.Message})");
        }

        if (stream.Documents.Count != 1)
        {
            throw new ConfigException("(document)", 1, "the file must hold exactly one YAML document");
        }

        var root = YamlFields.Of(stream.Documents[0].RootNode, "", "global", "defaults", "frontends", "backends", "stats");
        var global = ParseGlobal(root);
        var defaults = ParseDefaults(root.Map("defaults", "timeouts", "retries", "redispatch", "maxQueue"));
        var backends = ParseList(root, "backends", node => ParseBackend(node, defaults, baseDirectory));
        var frontends = ParseList(root, "frontends", ParseFrontend);
        var stats = ParseStats(root, baseDirectory);
        CheckReferences(root, frontends, backends, stats);
        return new BalancerConfig(global, frontends.Select(f => f.Value).ToArray(),
            backends.Select(b => b.Value).ToArray(), stats);
    }

    private static List<(T Value, YamlFields Fields)> ParseList<T>(YamlFields root, string key, Func<YamlFields, T> parse)
    {
        var nodes = root.List(key, required: true);
        if (nodes.Count == 0)
        {
            throw root.Error(key, "must list at least one entry");
        }

        var result = new List<(T, YamlFields)>();
        for (var i = 0; i < nodes.Count; i++)
        {
            var fields = YamlFields.Of(nodes[i], $"{key}[{i}]", AllowedFields(key));
            result.Add((parse(fields), fields));
        }

        return result;
    }

    private static string[] AllowedFields(string list) => list switch
    {
        "frontends" => ["name", "bind", "backend", "maxconn"],
        "backends" => ["name", "balance", "stickOnSource", "check", "timeouts", "retries", "redispatch", "maxQueue",
            "servers", "kubernetes"],
        _ => ["name", "address", "weight", "backup", "maxconn"],
    };

    private static GlobalConfig ParseGlobal(YamlFields root)
    {
        var global = root.Map("global", "maxconn", "tick", "engine");
        var engine = global?.String("engine") switch
        {
            null or "epoll" => ForwardingEngine.Epoll,
            "sockets" => ForwardingEngine.Sockets,
            var other => throw global.Error("engine", $"'{other}' is not epoll or sockets"),
        };
        return new GlobalConfig(
            global?.Int("maxconn", 4096, 1, MaxConnLimit) ?? 4096,
            (int)(global?.Duration("tick", TimeSpan.FromMilliseconds(10), OneMs, TimeSpan.FromSeconds(1))
                ?? TimeSpan.FromMilliseconds(10)).TotalMilliseconds,
            engine);
    }

    private sealed record Defaults(TimeoutsConfig Timeouts, int Retries, bool Redispatch, int MaxQueue);

    private static Defaults ParseDefaults(YamlFields? fields)
    {
        var builtIn = new TimeoutsConfig(
            Connect: TimeSpan.FromSeconds(5),
            Client: TimeSpan.FromSeconds(50),
            Server: TimeSpan.FromSeconds(50),
            // Kubernetes watches sit idle for minutes: a tunnel timeout shorter than the API server's
            // watch timeout would cut every quiet watch.
            Tunnel: TimeSpan.FromHours(1),
            Queue: TimeSpan.FromSeconds(5));
        if (fields is null)
        {
            return new Defaults(builtIn, 3, true, 1024);
        }

        return new Defaults(
            ParseTimeouts(fields, builtIn),
            fields.Int("retries", 3, 0, 100),
            fields.Bool("redispatch", true),
            fields.Int("maxQueue", 1024, 0, MaxQueueLimit));
    }

    private static TimeoutsConfig ParseTimeouts(YamlFields parent, TimeoutsConfig fallback)
    {
        var t = parent.Map("timeouts", "connect", "client", "server", "tunnel", "queue");
        if (t is null)
        {
            return fallback;
        }

        return new TimeoutsConfig(
            t.Duration("connect", fallback.Connect, OneMs, OneDay),
            t.Duration("client", fallback.Client, OneMs, OneYear),
            t.Duration("server", fallback.Server, OneMs, OneYear),
            t.Duration("tunnel", fallback.Tunnel, OneMs, OneYear),
            t.Duration("queue", fallback.Queue, OneMs, OneDay));
    }

    private static FrontendConfig ParseFrontend(YamlFields f) => new(
        Name(f),
        f.EndPoint("bind", anyPort: true),
        f.RequiredString("backend"),
        f.Int("maxconn", 0, 0, MaxConnLimit));

    private static string Name(YamlFields f)
    {
        var name = f.RequiredString("name");
        // Names appear in URLs (/admin/...), CSV and Prometheus labels: keep them to a safe alphabet.
        if (name.Length > 64 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw f.Error("name", $"'{name}' must be 1-64 characters of letters, digits, '-', '_' or '.'");
        }

        return name;
    }

    private static BackendConfig ParseBackend(YamlFields b, Defaults defaults, string baseDirectory)
    {
        var name = Name(b);
        var balance = b.String("balance") switch
        {
            null or "roundrobin" => BalanceAlgorithm.RoundRobin,
            "leastconn" => BalanceAlgorithm.LeastConn,
            "source" => BalanceAlgorithm.Source,
            var other => throw b.Error("balance", $"'{other}' is not roundrobin, leastconn or source"),
        };
        var stickFields = b.Map("stickOnSource", "expire", "size");
        var stick = stickFields is null ? null : new StickConfig(
            stickFields.Duration("expire", TimeSpan.FromMinutes(30), OneMs, OneYear),
            stickFields.Int("size", 100_000, 1, MaxStickSize));
        var check = ParseCheck(b, baseDirectory);
        var servers = ParseServers(b);
        var kubernetes = ParseKubernetes(b, baseDirectory);
        if (b.Find("servers") is null && kubernetes is null)
        {
            throw new ConfigException(b.Child("servers"), b.Line, "is required (or kubernetes, to follow Endpoints)");
        }

        if (b.Find("servers") is not null && kubernetes is not null)
        {
            throw b.Error("kubernetes", "a backend takes servers or kubernetes, not both");
        }

        return new BackendConfig(name, balance, stick, check, ParseTimeouts(b, defaults.Timeouts),
            b.Int("retries", defaults.Retries, 0, 100), b.Bool("redispatch", defaults.Redispatch),
            b.Int("maxQueue", defaults.MaxQueue, 0, MaxQueueLimit), servers, kubernetes);
    }

    private static CheckConfig? ParseCheck(YamlFields b, string baseDirectory)
    {
        var c = b.Map("check", "type", "path", "expectStatus", "inter", "fastinter", "downinter", "rise", "fall",
            "timeout", "verify", "caFile", "sni", "clientCertFile", "clientKeyFile");
        if (c is null)
        {
            return null;
        }

        var type = c.String("type") switch
        {
            null or "tcp" => CheckType.Tcp,
            "http" => CheckType.Http,
            "https" => CheckType.Https,
            var other => throw c.Error("type", $"'{other}' is not tcp, http or https"),
        };
        foreach (var httpOnly in (string[])["path", "expectStatus"])
        {
            if (type == CheckType.Tcp && c.Find(httpOnly) is not null)
            {
                throw c.Error(httpOnly, "applies only to type http or https");
            }
        }

        foreach (var tlsOnly in (string[])["verify", "caFile", "sni", "clientCertFile", "clientKeyFile"])
        {
            if (type != CheckType.Https && c.Find(tlsOnly) is not null)
            {
                throw c.Error(tlsOnly, "applies only to type https");
            }
        }

        var path = c.String("path") ?? "/";
        if (!path.StartsWith('/') || path.Any(ch => ch <= ' ' || ch >= 127))
        {
            throw c.Error("path", $"'{path}' must start with '/' and hold no spaces or control characters");
        }

        var inter = c.Duration("inter", TimeSpan.FromSeconds(2), OneMs, OneDay);
        var caFile = c.String("caFile");
        if (caFile is not null)
        {
            caFile = System.IO.Path.GetFullPath(caFile, baseDirectory);
            if (!File.Exists(caFile))
            {
                throw c.Error("caFile", $"{caFile} does not exist");
            }
        }

        var (clientCert, clientKey) = ParseClientCertificate(c, baseDirectory);
        return new CheckConfig(type, path,
            c.Find("expectStatus") is null ? null : c.Int("expectStatus", 200, 100, 599),
            inter,
            c.Duration("fastinter", inter, OneMs, OneDay),
            c.Duration("downinter", inter, OneMs, OneDay),
            c.Int("rise", 2, 1, 1000),
            c.Int("fall", 3, 1, 1000),
            c.Duration("timeout", inter, OneMs, OneDay),
            c.Bool("verify", caFile is not null),
            caFile,
            c.String("sni"),
            clientCert,
            clientKey);
    }

    /// <summary>The https check's client certificate (for an API server that answers /readyz only to
    /// authenticated clients): PEM files, the key beside the certificate or inside it. Loaded here once
    /// so that a missing, unreadable or mismatched pair is refused before anything starts.</summary>
    private static (string? CertFile, string? KeyFile) ParseClientCertificate(YamlFields c, string baseDirectory)
    {
        var certFile = c.String("clientCertFile");
        var keyFile = c.String("clientKeyFile");
        if (certFile is null)
        {
            return keyFile is null ? (null, null) : throw c.Error("clientKeyFile", "needs clientCertFile");
        }

        certFile = System.IO.Path.GetFullPath(certFile, baseDirectory);
        keyFile = keyFile is null ? null : System.IO.Path.GetFullPath(keyFile, baseDirectory);
        foreach (var (field, file) in (ReadOnlySpan<(string, string?)>)[("clientCertFile", certFile), ("clientKeyFile", keyFile)])
        {
            if (file is not null && !File.Exists(file))
            {
                throw c.Error(field, $"{file} does not exist");
            }
        }

        try
        {
            using var loaded = Runtime.CheckProbe.LoadClientCertificate(certFile, keyFile);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or ArgumentException or IOException)
        {
            throw c.Error(keyFile is null ? "clientCertFile" : "clientKeyFile", $"no certificate with its private key could be read: {e.Message}");
        }

        return (certFile, keyFile);
    }

    private static ServerConfig[] ParseServers(YamlFields b)
    {
        var nodes = b.List("servers", required: false);
        if (nodes.Count > MaxServersPerBackend)
        {
            throw b.Error("servers", $"lists {nodes.Count} servers, more than {MaxServersPerBackend}");
        }

        if (b.Find("servers") is not null && nodes.Count == 0)
        {
            throw b.Error("servers", "must list at least one server");
        }

        var servers = new ServerConfig[nodes.Count];
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < nodes.Count; i++)
        {
            var s = YamlFields.Of(nodes[i], $"{b.Child("servers")}[{i}]", AllowedFields("servers"));
            servers[i] = new ServerConfig(Name(s), s.EndPoint("address"), s.Int("weight", 1, 0, 256),
                s.Bool("backup", false), s.Int("maxconn", 0, 0, MaxConnLimit));
            if (!names.Add(servers[i].Name))
            {
                throw s.Error("name", $"'{servers[i].Name}' is already the name of another server in this backend");
            }
        }

        return servers;
    }

    private static KubernetesSourceConfig? ParseKubernetes(YamlFields b, string baseDirectory)
    {
        var k = b.Map("kubernetes", "kubeconfig", "namespace", "endpoints", "portName");
        if (k is null)
        {
            return null;
        }

        var kubeconfig = System.IO.Path.GetFullPath(k.RequiredString("kubeconfig"), baseDirectory);
        return new KubernetesSourceConfig(kubeconfig, k.String("namespace") ?? "default",
            k.String("endpoints") ?? "kubernetes", k.String("portName"));
    }

    private static StatsConfig? ParseStats(YamlFields root, string baseDirectory)
    {
        var s = root.Map("stats", "bind", "auth");
        if (s is null)
        {
            return null;
        }

        var bind = s.EndPoint("bind", anyPort: true);
        // No default password ships: the stats page can set servers to maintenance, so it is never open.
        var auth = s.Map("auth", "user", "password", "passwordFile")
            ?? throw new ConfigException(s.Child("auth"), s.Line, "is required: the stats page never runs without credentials");
        var user = auth.RequiredString("user");
        if (user.Contains(':', StringComparison.Ordinal))
        {
            throw auth.Error("user", "must not contain ':' (basic auth separates user and password with it)");
        }

        var inline = auth.String("password");
        var file = auth.String("passwordFile");
        if ((inline is null) == (file is null))
        {
            throw new ConfigException(auth.Child("password"), auth.Line, "give exactly one of password or passwordFile");
        }

        var password = inline ?? ReadPasswordFile(auth, System.IO.Path.GetFullPath(file!, baseDirectory));
        return new StatsConfig(bind, user, password);
    }

    private static string ReadPasswordFile(YamlFields auth, string path)
    {
        if (!File.Exists(path))
        {
            throw auth.Error("passwordFile", $"{path} does not exist");
        }

        var password = File.ReadAllText(path).TrimEnd('\r', '\n');
        return password.Length == 0 ? throw auth.Error("passwordFile", $"{path} is empty") : password;
    }

    private static void CheckReferences(YamlFields root, List<(FrontendConfig Value, YamlFields Fields)> frontends,
        List<(BackendConfig Value, YamlFields Fields)> backends, StatsConfig? stats)
    {
        var backendNames = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (backend, fields) in backends)
        {
            if (!backendNames.Add(backend.Name))
            {
                throw fields.Error("name", $"'{backend.Name}' is already the name of another backend");
            }
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var binds = new HashSet<System.Net.IPEndPoint>();
        foreach (var (frontend, fields) in frontends)
        {
            if (!names.Add(frontend.Name))
            {
                throw fields.Error("name", $"'{frontend.Name}' is already the name of another frontend");
            }

            if (!backendNames.Contains(frontend.Backend))
            {
                throw fields.Error("backend", $"no backend is named '{frontend.Backend}'");
            }

            if (frontend.Bind.Port != 0 && !binds.Add(frontend.Bind))
            {
                throw fields.Error("bind", $"{frontend.Bind} is already bound by another frontend");
            }
        }

        if (stats is not null && stats.Bind.Port != 0 && binds.Contains(stats.Bind))
        {
            throw root.Map("stats", "bind", "auth")!.Error("bind", $"{stats.Bind} is already bound by a frontend");
        }
    }
}
