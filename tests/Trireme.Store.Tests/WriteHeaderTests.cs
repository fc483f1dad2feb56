// Proves the header of a write's answer (put, delete, txn) is complete although it is built off the Raft
// loop: the write's own revision, this member's id and cluster id, and the member's current Raft term —
// the same values Status reports — as etcd answers them.
using Google.Protobuf;
using Trireme.Grpc.Client;
using Trireme.Store.Api;
using Trireme.Testing;
using Pb = Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Tests;

public sealed class WriteHeaderTests
{
    [Fact]
    public async Task Put_delete_and_txn_answers_carry_their_revision_member_cluster_and_term()
    {
        using var dir = new TempDir();
        var (server, url) = await SingleMember.StartAsync(dir);
        await using var _ = server;
        using var channel = new GrpcChannel(url);
        var status = await TriremeStoreCluster.StatusAsync(url);
        Assert.True(status.RaftTerm > 0);

        var put = await channel.UnaryAsync(EtcdMethods.KVPut, new Pb.PutRequest { Key = ByteString.CopyFromUtf8("h/1"), Value = ByteString.CopyFromUtf8("v") }, Pb.PutResponse.Parser);
        var txn = await channel.UnaryAsync(EtcdMethods.KVTxn, new Pb.TxnRequest
        {
            Success = { new Pb.RequestOp { RequestPut = new Pb.PutRequest { Key = ByteString.CopyFromUtf8("h/2"), Value = ByteString.CopyFromUtf8("w") } } },
        }, Pb.TxnResponse.Parser);
        var delete = await channel.UnaryAsync(EtcdMethods.KVDeleteRange, new Pb.DeleteRangeRequest { Key = ByteString.CopyFromUtf8("h/1") }, Pb.DeleteRangeResponse.Parser);
        var after = await TriremeStoreCluster.StatusAsync(url);

        Assert.Equal([put.Header.Revision + 1, put.Header.Revision + 2], [txn.Header.Revision, delete.Header.Revision]);
        Assert.Equal(after.Header.Revision, delete.Header.Revision);
        foreach (var header in new[] { put.Header, txn.Header, delete.Header })
        {
            Assert.Equal(status.Header.MemberId, header.MemberId);
            Assert.Equal(status.Header.ClusterId, header.ClusterId);
            Assert.Equal(after.RaftTerm, header.RaftTerm);
        }
    }
}
