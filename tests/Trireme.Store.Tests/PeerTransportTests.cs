// Proves the peer links: frames arrive in order between two members over plain TCP and over mutual TLS
// with a CA made here; a dialer from another cluster id is refused; a peer that restarts on the same port
// is redialled (backoff) and traffic resumes; a full queue drops and reports the peer unreachable.
// All on 127.0.0.1 with port 0; everything is disposed in finally blocks.
using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Trireme.Store.Transport;

namespace Trireme.Store.Tests;

public sealed class PeerTransportTests
{
    private static readonly IPEndPoint _any = new(IPAddress.Loopback, 0);

    private sealed class Inbox
    {
        public ConcurrentQueue<(ulong From, byte[] Frame)> Frames { get; } = new();
        public ConcurrentQueue<ulong> Unreachable { get; } = new();
        public void OnFrame(ulong from, ReadOnlyMemory<byte> frame) => Frames.Enqueue((from, frame.ToArray())); // the buffer is pooled
        public void OnUnreachable(ulong peer) => Unreachable.Enqueue(peer);
    }

    private static PeerTransport Make(ulong cluster, ulong id, Inbox inbox, PeerTransportOptions? options = null) =>
        new(cluster, id, options ?? new PeerTransportOptions(), inbox.OnFrame, inbox.OnUnreachable, NullLogger.Instance);

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task Frames_flow_in_order_both_ways()
    {
        var (ia, ib) = (new Inbox(), new Inbox());
        await using var a = Make(7, 1, ia);
        await using var b = Make(7, 2, ib);
        var ea = a.Listen(_any);
        var eb = b.Listen(_any);
        a.SetPeer(2, eb);
        b.SetPeer(1, ea);
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(a.Send(2, BitConverter.GetBytes(i)));
        }

        b.Send(1, [42]);
        await Eventually(() => ib.Frames.Count == 1000 && ia.Frames.Count == 1, "frames");
        Assert.Equal(Enumerable.Range(0, 1000), ib.Frames.Select(f => BitConverter.ToInt32(f.Frame)));
        Assert.All(ib.Frames, f => Assert.Equal(1UL, f.From));
    }

    [Fact]
    public async Task A_member_of_another_cluster_is_refused()
    {
        var (ia, ib) = (new Inbox(), new Inbox());
        await using var a = Make(7, 1, ia);
        await using var b = Make(8, 2, ib);
        var eb = b.Listen(_any);
        a.SetPeer(2, eb);
        a.Send(2, [1]);
        await Eventually(() => !ia.Unreachable.IsEmpty, "unreachable report");
        Assert.Empty(ib.Frames);
    }

    [Fact]
    public async Task A_restarted_peer_is_redialled()
    {
        var (ia, ib) = (new Inbox(), new Inbox());
        await using var a = Make(7, 1, ia, new PeerTransportOptions { MaxBackoff = TimeSpan.FromMilliseconds(200) });
        var b = Make(7, 2, ib);
        var eb = b.Listen(_any);
        a.SetPeer(2, eb);
        a.Send(2, [1]);
        await Eventually(() => ib.Frames.Count == 1, "first frame");
        await b.DisposeAsync();

        var ib2 = new Inbox();
        await using var b2 = Make(7, 2, ib2);
        b2.Listen(eb);
        // Frames sent while the link is down may be lost (Raft retransmits); keep sending until one lands.
        await Eventually(() =>
        {
            a.Send(2, [2]);
            return !ib2.Frames.IsEmpty;
        }, "frame after restart");
    }

    [Fact]
    public async Task A_full_queue_drops_and_reports_unreachable()
    {
        var ia = new Inbox();
        await using var a = Make(7, 1, ia, new PeerTransportOptions { MaxQueuedFramesPerPeer = 4 });
        // Nobody listens on this port: frames pile up while the dialer backs off.
        using var probe = new System.Net.Sockets.TcpListener(_any);
        probe.Start();
        var dead = (IPEndPoint)probe.LocalEndpoint;
        probe.Stop();
        a.SetPeer(2, dead);
        var accepted = Enumerable.Range(0, 50).Count(_ => a.Send(2, [0]));
        Assert.True(accepted < 50);
        Assert.Contains(2UL, ia.Unreachable);
    }

    [Fact]
    public async Task Mutual_tls_with_the_cluster_ca_carries_frames_and_rejects_strangers()
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=trireme-test-ca", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var trusted = new X509Certificate2Collection { X509CertificateLoader.LoadCertificate(ca.RawData) };

        PeerTlsOptions Member(string name, X509Certificate2 issuer)
        {
            using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
            // Inside the CA's validity (a leaf may not outlive its issuer).
            using var signed = request.Create(issuer, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12),
                RandomNumberGenerator.GetBytes(8));
            using var withKey = signed.CopyWithPrivateKey(key);
            var usable = X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null);
            return new PeerTlsOptions { Certificate = usable, TrustedCa = trusted };
        }

        var (ia, ib, ic) = (new Inbox(), new Inbox(), new Inbox());
        await using var a = Make(7, 1, ia, new PeerTransportOptions { Tls = Member("m1", ca) });
        await using var b = Make(7, 2, ib, new PeerTransportOptions { Tls = Member("m2", ca) });
        var eb = b.Listen(_any);
        a.SetPeer(2, eb);
        a.Send(2, [9]);
        await Eventually(() => ib.Frames.Count == 1, "frame over TLS");

        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var otherRequest = new CertificateRequest("CN=other", otherKey, HashAlgorithmName.SHA256);
        otherRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var otherCa = otherRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var strangerTls = Member("stranger", otherCa);
        await using var c = Make(7, 3, ic, new PeerTransportOptions { Tls = strangerTls });
        c.SetPeer(2, eb);
        c.Send(2, [1]);
        await Eventually(() => !ic.Unreachable.IsEmpty, "stranger refused");
        Assert.Single(ib.Frames);
    }
}
