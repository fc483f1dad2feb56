using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Trireme.Grpc.Server;

public static class GrpcApplicationBuilderExtensions
{
    /// <summary>
    /// Serves gRPC requests (content-type application/grpc) with <paramref name="server"/> and passes
    /// every other request on, so a gRPC service can share a Kestrel endpoint with HTTP handlers.
    /// </summary>
    public static IApplicationBuilder UseGrpc(this IApplicationBuilder app, GrpcServer server)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(server);
        return app.Use(async (HttpContext context, RequestDelegate next) =>
        {
            string? contentType = context.Request.ContentType;
            if (contentType is not null && contentType.StartsWith(GrpcProtocol.ContentType, StringComparison.OrdinalIgnoreCase))
            {
                await server.HandleAsync(context).ConfigureAwait(false);
                return;
            }

            await next(context).ConfigureAwait(false);
        });
    }
}
