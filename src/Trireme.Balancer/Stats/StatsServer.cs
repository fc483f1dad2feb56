using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Trireme.Balancer.Config;
using Trireme.Balancer.Core;
using Trireme.Balancer.Runtime;

namespace Trireme.Balancer.Stats;

/// <summary>
/// The stats and admin endpoint on Kestrel, every path behind HTTP basic auth with the configured
/// credentials (there is no default and no anonymous path):
/// <c>GET /</c> (HTML), <c>GET /stats.csv</c>, <c>GET /stats.json</c>, <c>GET /metrics</c>, and
/// <c>POST /admin</c> with form or query fields backend, server, state=ready|drain|maint.
/// </summary>
internal sealed class StatsServer(BalancerHost host, StatsConfig config) : IAsyncDisposable
{
    private WebApplication? _app;

    public IPEndPoint? EndPoint { get; private set; }

    public async Task StartAsync()
    {
        // Nothing here reads appsettings files: root the host at the binaries and do not watch for config
        // changes. The default (working directory, reload on change) puts a recursive inotify watch on
        // wherever the process was started — every data-dir write wakes it, and from / it would walk the
        // whole tree.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
        });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(config.Bind);
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        var expected = Encoding.UTF8.GetBytes($"{config.User}:{config.Password}");
        app.Use(async (context, next) =>
        {
            if (!Authorized(context.Request, expected))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                context.Response.Headers.WWWAuthenticate = "Basic realm=\"Trireme balancer statistics\"";
                return;
            }

            await next(context).ConfigureAwait(false);
        });
        app.MapGet("/", () => Results.Content(StatsRenderers.Html(host.Snapshot(), "admin"), "text/html; charset=utf-8"));
        app.MapGet("/stats", () => Results.Content(StatsRenderers.Html(host.Snapshot(), "admin"), "text/html; charset=utf-8"));
        app.MapGet("/stats.csv", () => Results.Text(StatsRenderers.Csv(host.Snapshot()), "text/csv; charset=utf-8"));
        app.MapGet("/stats.json", () => Results.Text(StatsRenderers.Json(host.Snapshot()), "application/json"));
        app.MapGet("/metrics", () => Results.Text(StatsRenderers.Prometheus(host.Snapshot()), "text/plain; version=0.0.4; charset=utf-8"));
        app.MapPost("/admin", (Delegate)AdminAsync);
        await app.StartAsync().ConfigureAwait(false);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var uri = new Uri(address);
        EndPoint = new IPEndPoint(config.Bind.Address, uri.Port);
        _app = app;
    }

    private async Task<IResult> AdminAsync(HttpContext context)
    {
        string? Field(string name, IFormCollection? form) =>
            context.Request.Query[name].FirstOrDefault() ?? form?[name].FirstOrDefault();
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync().ConfigureAwait(false) : null;
        var backend = Field("backend", form);
        var server = Field("server", form);
        ServerAdminState? state = Field("state", form) switch
        {
            "ready" => ServerAdminState.Ready,
            "drain" => ServerAdminState.Drain,
            "maint" => ServerAdminState.Maint,
            _ => null,
        };
        if (backend is null || server is null || state is null)
        {
            return Results.BadRequest("give backend, server and state=ready|drain|maint\n");
        }

        if (!host.SetServerState(backend, server, state.Value))
        {
            return Results.NotFound($"no server {backend}/{server}\n");
        }

        // A browser form comes back to the page; a script gets a one-line answer.
        return form is not null
            ? Results.Redirect("./")
            : Results.Text($"{backend}/{server} is now {state.Value.ToString().ToUpperInvariant()}\n");
    }

    private static bool Authorized(HttpRequest request, byte[] expected)
    {
        var header = request.Headers.Authorization.ToString();
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        Span<byte> given = stackalloc byte[512];
        if (!Convert.TryFromBase64String(header[6..].Trim(), given, out var length))
        {
            return false;
        }

        // Constant-time so the answer's timing says nothing about how much of the secret matched.
        return CryptographicOperations.FixedTimeEquals(given[..length], expected);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}
