using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Trireme.Client.Tests;

/// <summary>
/// An in-process Kestrel stand-in for the API server's Endpoints resource in one namespace: GET one,
/// LIST (with resourceVersion), WATCH from a resourceVersion (history replayed, then live events), and
/// 410 Gone for versions older than <see cref="Compact"/> left. Tests can also cut every open watch
/// (<see cref="DropWatches"/>) to see the client resume.
/// </summary>
public sealed class FakeApiServer : IAsyncDisposable
{
    private readonly Lock _lock = new();
    private readonly List<(long Rv, string Type, JsonObject Obj)> _history = [];
    private readonly Dictionary<string, JsonObject> _objects = [];
    private readonly List<Channel<string>> _watchers = [];
    private long _rv = 100;
    private long _compacted;
    private bool _expireNextWatch;
    private WebApplication? _app;

    public Uri BaseAddress { get; private set; } = null!;

    public int WatchRequests { get; private set; }

    public string? LastAuthorization { get; private set; }

    public static async Task<FakeApiServer> StartAsync()
    {
        var fake = new FakeApiServer();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapGet("/api/v1/namespaces/{ns}/endpoints/{name}", (string ns, string name, HttpContext ctx) =>
        {
            fake.LastAuthorization = ctx.Request.Headers.Authorization.ToString();
            lock (fake._lock)
            {
                return fake._objects.TryGetValue(name, out var obj)
                    ? Results.Text(obj.ToJsonString(), "application/json")
                    : Results.Json(new { kind = "Status", status = "Failure", code = 404, reason = "NotFound", message = $"endpoints \"{name}\" not found" }, statusCode: 404);
            }
        });
        app.MapGet("/api/v1/namespaces/{ns}/endpoints", fake.ListOrWatchAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.BaseAddress = new Uri(address);
        fake._app = app;
        return fake;
    }

    public long Put(string name, params (string Ip, int Port)[] addresses)
    {
        lock (_lock)
        {
            var rv = ++_rv;
            var obj = new JsonObject
            {
                ["kind"] = "Endpoints",
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = "default", ["resourceVersion"] = rv.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                ["subsets"] = new JsonArray(new JsonObject
                {
                    ["addresses"] = new JsonArray(addresses.Select(a => (JsonNode)new JsonObject { ["ip"] = a.Ip }).ToArray()),
                    ["ports"] = new JsonArray(new JsonObject { ["name"] = "https", ["port"] = addresses.FirstOrDefault().Port, ["protocol"] = "TCP" }),
                }),
            };
            var type = _objects.ContainsKey(name) ? "MODIFIED" : "ADDED";
            _objects[name] = obj;
            Publish(rv, type, obj);
            return rv;
        }
    }

    /// <summary>Forgets history up to now: a watch from an older version gets 410 Gone, and so does the
    /// very next watch.</summary>
    public void Compact()
    {
        lock (_lock)
        {
            _compacted = _rv;
            _history.Clear();
            _expireNextWatch = true;
        }
    }

    public void DropWatches()
    {
        lock (_lock)
        {
            foreach (var w in _watchers)
            {
                w.Writer.TryComplete();
            }

            _watchers.Clear();
        }
    }

    private void Publish(long rv, string type, JsonObject obj)
    {
        _history.Add((rv, type, (JsonObject)obj.DeepClone()));
        var line = Line(type, obj);
        foreach (var w in _watchers)
        {
            w.Writer.TryWrite(line);
        }
    }

    private static string Line(string type, JsonObject obj) =>
        new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString() + "\n";

    private async Task ListOrWatchAsync(HttpContext ctx)
    {
        LastAuthorization = ctx.Request.Headers.Authorization.ToString();
        var name = ctx.Request.Query["fieldSelector"].ToString().Replace("metadata.name=", "", StringComparison.Ordinal);
        if (ctx.Request.Query["watch"] != "true")
        {
            string body;
            lock (_lock)
            {
                var items = new JsonArray(_objects.Where(o => name.Length == 0 || o.Key == name).Select(o => (JsonNode)o.Value.DeepClone()).ToArray());
                body = new JsonObject { ["kind"] = "EndpointsList", ["metadata"] = new JsonObject { ["resourceVersion"] = _rv.ToString(System.Globalization.CultureInfo.InvariantCulture) }, ["items"] = items }.ToJsonString();
            }

            ctx.Response.ContentType = "application/json";
            await ctx.Response.WriteAsync(body);
            return;
        }

        var from = long.Parse(ctx.Request.Query["resourceVersion"].ToString(), System.Globalization.CultureInfo.InvariantCulture);
        var channel = Channel.CreateUnbounded<string>();
        lock (_lock)
        {
            WatchRequests++;
            // The next watch is answered 410 whatever its version: the version a client holds when the
            // test compacts is only known to the client, so the fake expires it unconditionally once.
            if (from < _compacted || _expireNextWatch)
            {
                _expireNextWatch = false;
                ctx.Response.StatusCode = 410;
                ctx.Response.ContentType = "application/json";
                _ = ctx.Response.WriteAsync(JsonSerializer.Serialize(new { kind = "Status", status = "Failure", code = 410, reason = "Expired", message = "too old resource version" }));
                return;
            }

            foreach (var (rv, type, obj) in _history.Where(h => h.Rv > from))
            {
                channel.Writer.TryWrite(Line(type, obj));
            }

            _watchers.Add(channel);
        }

        ctx.Response.ContentType = "application/json";
        await ctx.Response.Body.FlushAsync();
        try
        {
            await foreach (var line in channel.Reader.ReadAllAsync(ctx.RequestAborted))
            {
                await ctx.Response.WriteAsync(line, ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
            // Client went away.
        }
    }

    public async ValueTask DisposeAsync()
    {
        DropWatches();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
