using Microsoft.Extensions.Logging;

namespace Trireme.ApiServer;

/// <summary>
/// Routes the web host's own logging into the caller's logger factory, with ASP.NET Core's categories
/// held at Warning. At Information, ASP.NET Core's hosting diagnostics log a "Request starting" and a
/// "Request finished" line for every request: on the hollow-node load that was ~5% of the API
/// server's CPU and a lock every request thread contended on. kube-apiserver does not log every
/// request either (its httplog is at verbosity 3).
/// </summary>
internal sealed class ForwardingLoggerProvider(ILoggerFactory target) : ILoggerProvider
{
    /// <summary>The categories ASP.NET Core logs per request and per connection.</summary>
    public const string AspNetCoreCategory = "Microsoft.AspNetCore";

    public ILogger CreateLogger(string categoryName) => target.CreateLogger(categoryName);

    /// <summary>The target belongs to the caller, who disposes it.</summary>
    public void Dispose()
    {
    }
}
