using System.Buffers;
using System.Runtime.InteropServices;
using static Trireme.Balancer.Runtime.EpollNative;

namespace Trireme.Balancer.Runtime;

// Moving bytes: one recv into a pooled buffer when epoll reports data, send until it is gone (or
// EAGAIN, then wait for EPOLLOUT on the destination without reading the source), a FIN read on one side
// passed on as shutdown(SHUT_WR) on the other, and the session closed when both directions are done
// or either side errs.
internal sealed partial class EpollEngine
{
    private void OnClientEvent(EpollSession session, uint events)
    {
        if ((events & EpollErr) != 0 || ((events & EpollHup) != 0 && session.ToServer.Eof))
        {
            // A reset, or both halves of the client's socket are shut with its bytes all read.
            CloseSession(session, rejected: session.State != EpollSessionState.Established);
            return;
        }

        if ((events & (EpollIn | EpollHup)) != 0)
        {
            Pump(session, ref session.ToServer, toServer: true);
        }

        if ((events & EpollOut) != 0 && session.State != EpollSessionState.Closed)
        {
            Flush(session, ref session.ToClient, toServer: false);
        }

        MarkDirty(session);
    }

    private void OnUpstreamEvent(EpollSession session, uint events, long now)
    {
        if (!session.UpstreamConnected)
        {
            if ((events & (EpollErr | EpollHup)) != 0)
            {
                AttemptFailed(session, now);
                return;
            }

            // Writable (or already readable): the connect completed. Send what the client sent meanwhile.
            MarkConnected(session);
            Flush(session, ref session.ToServer, toServer: true);
        }
        else if ((events & EpollErr) != 0 || ((events & EpollHup) != 0 && session.ToClient.Eof))
        {
            CloseSession(session, rejected: false);
            return;
        }

        if ((events & (EpollIn | EpollHup)) != 0 && session.State != EpollSessionState.Closed)
        {
            Pump(session, ref session.ToClient, toServer: false);
        }

        if ((events & EpollOut) != 0 && session.State != EpollSessionState.Closed)
        {
            Flush(session, ref session.ToServer, toServer: true);
        }

        MarkDirty(session);
    }

    /// <summary>One read from the flow's source, then as much of it sent as the destination takes.</summary>
    private void Pump(EpollSession session, ref EpollSession.Flow flow, bool toServer)
    {
        if (flow.Pending > 0 || flow.Eof)
        {
            return;
        }

        var from = toServer ? session.ClientFd : session.UpstreamFd;
        flow.Buffer ??= ArrayPool<byte>.Shared.Rent(BufferSize);
        var read = Recv(from, ref flow.Buffer[0], flow.Buffer.Length, MsgDontWait);
        if (read > 0)
        {
            flow.Offset = 0;
            flow.Pending = (int)read;
            if (!toServer)
            {
                // Bytes from the server prove the connect completed.
                MarkConnected(session);
            }

            Flush(session, ref flow, toServer);
            return;
        }

        if (read == 0)
        {
            flow.Eof = true;
            session.HalfClosed = true;
            ReturnBuffer(ref flow);
            Flush(session, ref flow, toServer);
            return;
        }

        var errno = Marshal.GetLastPInvokeError();
        if (errno != EAgain && errno != EIntr)
        {
            ReturnBuffer(ref flow);
            CloseSession(session, rejected: session.State != EpollSessionState.Established);
        }
    }

    /// <summary>Sends the flow's pending bytes; once none are left, returns the buffer. Towards a server whose connect has not completed it only tries: EAGAIN (still connecting)
    /// or an error (the connect failed, which its own event will report) leave the bytes pending.</summary>
    private void Flush(EpollSession session, ref EpollSession.Flow flow, bool toServer)
    {
        var to = toServer ? session.UpstreamFd : session.ClientFd;
        if (to < 0)
        {
            return;
        }

        while (flow.Pending > 0)
        {
            var sent = Send(to, ref flow.Buffer![flow.Offset], flow.Pending, MsgDontWait | MsgNoSignal);
            if (sent > 0)
            {
                flow.Offset += (int)sent;
                flow.Pending -= (int)sent;
                if (toServer)
                {
                    session.Endpoint!.AddIn((int)sent);
                    session.Frontend.AddIn((int)sent);
                    if (!session.UpstreamConnected)
                    {
                        MarkConnected(session);
                    }
                }
                else
                {
                    session.Endpoint!.AddOut((int)sent);
                    session.Frontend.AddOut((int)sent);
                }

                continue;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == EAgain || errno == EIntr || (toServer && !session.UpstreamConnected))
            {
                // Wait for EPOLLOUT on the destination; Settle arranges it.
                return;
            }

            CloseSession(session, rejected: false);
            return;
        }

        ReturnBuffer(ref flow);
    }

    private static void ReturnBuffer(ref EpollSession.Flow flow)
    {
        if (flow.Buffer is not null && flow.Pending == 0)
        {
            ArrayPool<byte>.Shared.Return(flow.Buffer);
            flow.Buffer = null;
        }
    }

    /// <summary>Queues the session for <see cref="Settle"/> after the current batch of events.</summary>
    private void MarkDirty(EpollSession session)
    {
        if (!session.Dirty)
        {
            session.Dirty = true;
            _dirty.Add(session);
        }
    }

    /// <summary>Settles every session the last batch of events touched. Deferring this to the end of
    /// the batch is what lets a connection whose server and client both sent their FIN in the same
    /// batch (the common end of a request) close at once, without a shutdown and an epoll change for
    /// the first FIN.</summary>
    private void SettleDirty()
    {
        foreach (var session in _dirty)
        {
            session.Dirty = false;
            Settle(session);
        }

        _dirty.Clear();
    }

    /// <summary>Closes a session whose two directions are done; else passes on a FIN whose bytes are
    /// all sent (half-close: the other direction keeps flowing) and makes epoll watch what the session
    /// now waits for.</summary>
    private void Settle(EpollSession session)
    {
        if (session.State == EpollSessionState.Closed)
        {
            return;
        }

        if (session.ToServer.Done && session.ToClient.Done && session.UpstreamConnected)
        {
            CloseSession(session, rejected: false);
            return;
        }

        if (session.ToClient.Done && !session.ToClient.ShutSent)
        {
            session.ToClient.ShutSent = true;
            Shutdown(session.ClientFd, ShutWr);
        }

        if (session.ToServer.Done && !session.ToServer.ShutSent && session.UpstreamConnected)
        {
            // Held back while connecting: shutdown on a connecting socket would abort the connect.
            session.ToServer.ShutSent = true;
            Shutdown(session.UpstreamFd, ShutWr);
        }

        if (!UpdateInterest(session))
        {
            CloseSession(session, rejected: session.State != EpollSessionState.Established);
        }
    }

    /// <summary>Read a source while its flow has nothing pending (and no FIN yet); watch a destination
    /// for EPOLLOUT while it has. A connecting upstream is watched for EPOLLOUT, which reports the
    /// connect's completion.</summary>
    private bool UpdateInterest(EpollSession session)
    {
        var client = (session.ToServer.Pending == 0 && !session.ToServer.Eof ? EpollIn : 0)
            | (session.ToClient.Pending > 0 ? EpollOut : 0);
        if (!Watch(session.ClientFd, session.ClientTag, ref session.ClientInterest, client))
        {
            return false;
        }

        if (session.UpstreamFd < 0)
        {
            return true;
        }

        var upstream = !session.UpstreamConnected
            ? EpollOut
            : (session.ToClient.Pending == 0 && !session.ToClient.Eof ? EpollIn : 0) | (session.ToServer.Pending > 0 ? EpollOut : 0);
        return Watch(session.UpstreamFd, session.UpstreamTag, ref session.UpstreamInterest, upstream);
    }

    /// <summary>Ends a session: both descriptors closed (which also takes them out of the epoll set),
    /// buffers back to the pool, its slot back to the backend and the listeners.</summary>
    private void CloseSession(EpollSession session, bool rejected)
    {
        if (session.State == EpollSessionState.Closed)
        {
            return;
        }

        session.State = EpollSessionState.Closed;
        Forget(session.ClientFd);
        EpollNative.Close(session.ClientFd);
        CloseUpstream(session);
        session.ToServer.Pending = 0;
        session.ToClient.Pending = 0;
        ReturnBuffer(ref session.ToServer);
        ReturnBuffer(ref session.ToClient);
        session.Backend.Release(session.Id);
        session.Frontend.SessionEnded(rejected);
        _sessions--;
        ResumeListeners(Environment.TickCount64);
    }
}
