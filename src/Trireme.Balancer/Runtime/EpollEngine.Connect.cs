using System.Runtime.InteropServices;
using Trireme.Balancer.Core;
using static Trireme.Balancer.Runtime.EpollNative;

namespace Trireme.Balancer.Runtime;

// A session's start: ask the backend for a server (answered at once, or later from its maxconn queue),
// connect a non-blocking socket to it, and on a failed or timed-out attempt ask again (retries and
// redispatch are the core's decision).
internal sealed partial class EpollEngine
{
    private void StartSession(FrontendRuntime frontend, int fd, UInt128 clientKey, long now)
    {
        var session = new EpollSession(_host.NextSessionId(), frontend, frontend.Backend, fd, NextTag())
        {
            LastActivityMs = now,
        };
        Put(fd, session);
        _sessions++;
        frontend.SessionStarted();
        Decided(session, session.Backend.AssignAsync(session.Id, clientKey), now);
    }

    /// <summary>Acts on the backend's answer now when it is known, or on the loop once the queue
    /// answers.</summary>
    private void Decided(EpollSession session, ValueTask<Server?> decision, long now)
    {
        if (decision.IsCompletedSuccessfully)
        {
            Connect(session, decision.Result, now);
            return;
        }

        _ = DecidedLaterAsync(session, decision);
    }

    private async Task DecidedLaterAsync(EpollSession session, ValueTask<Server?> decision)
    {
        var server = await decision.ConfigureAwait(false);
        Post(() => Connect(session, server, Environment.TickCount64));
    }

    private void Connect(EpollSession session, Server? server, long now)
    {
        if (session.State == EpollSessionState.Closed)
        {
            // Closed while it waited (client reset, shutdown): the backend has been told already.
            return;
        }

        if (server is null)
        {
            CloseSession(session, rejected: true);
            return;
        }

        var endpoint = session.Backend.Endpoint(server.Id);
        var fd = endpoint is null ? -1 : OpenConnect(endpoint.SockAddr);
        if (fd < 0)
        {
            Decided(session, session.Backend.ConnectFailedAsync(session.Id), now);
            return;
        }

        session.Endpoint = endpoint;
        session.UpstreamFd = fd;
        session.UpstreamTag = NextTag();
        session.UpstreamInterest = EpollSession.NotRegistered;
        session.UpstreamConnected = false;
        session.State = EpollSessionState.Connecting;
        session.ConnectDeadlineMs = now + (long)session.Backend.Config.Timeouts.Connect.TotalMilliseconds;
        Put(fd, session);

        // Watch the client from now on too: its first bytes (a TLS hello, a request) are read while the
        // connect completes and sent as soon as it has, and a client that resets is noticed at once.
        if (!UpdateInterest(session))
        {
            CloseSession(session, rejected: true);
        }
    }

    /// <summary>A non-blocking socket with its connect started; -1 when the connect failed at once.</summary>
    private static int OpenConnect(byte[] address)
    {
        var family = address.Length == 16 ? AfInet : AfInet6;
        var fd = EpollNative.Socket(family, SockStream | SockNonBlock | SockCloExec, 0);
        if (fd < 0)
        {
            return -1;
        }

        var one = 1;
        SetSockOpt(fd, IpProtoTcp, TcpNoDelay, ref one, sizeof(int));
        if (EpollNative.Connect(fd, ref address[0], address.Length) != 0 && Marshal.GetLastPInvokeError() != EInProgress)
        {
            EpollNative.Close(fd);
            return -1;
        }

        return fd;
    }

    /// <summary>The connect attempt failed (refused, reset, timed out): close that socket and ask the
    /// backend where to try next. Client bytes read meanwhile stay buffered for the next attempt.</summary>
    private void AttemptFailed(EpollSession session, long now)
    {
        CloseUpstream(session);
        session.State = EpollSessionState.Assigning;
        Decided(session, session.Backend.ConnectFailedAsync(session.Id), now);
    }

    private void CloseUpstream(EpollSession session)
    {
        if (session.UpstreamFd < 0)
        {
            return;
        }

        Forget(session.UpstreamFd);
        EpollNative.Close(session.UpstreamFd);
        session.UpstreamFd = -1;
        session.UpstreamInterest = EpollSession.NotRegistered;
        session.UpstreamConnected = false;
    }

    private void MarkConnected(EpollSession session)
    {
        session.UpstreamConnected = true;
        session.State = EpollSessionState.Established;
    }
}
