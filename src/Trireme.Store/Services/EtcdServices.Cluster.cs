using Google.Protobuf;
using Trireme.Grpc.Server;
using Trireme.Store.Api;
using Trireme.Store.Core;
using Trireme.Store.Host;
using Pb = Trireme.Store.Api.Etcdserverpb;

namespace Trireme.Store.Services;

// Cluster and Maintenance services.
public static partial class EtcdServices
{
    private static void MapCluster(GrpcServer server, StoreMember member)
    {
        server.MapUnary<Pb.MemberListRequest, Pb.MemberListResponse>(EtcdMethods.MemberList, async (r, c) =>
        {
            var members = await member.MembersAsync().ConfigureAwait(false);
            var response = new Pb.MemberListResponse { Header = await HeaderAsync(member).ConfigureAwait(false) };
            response.Members.AddRange(members.Select(ProtoMapping.ToProto));
            return response;
        });
        server.MapUnary<Pb.MemberAddRequest, Pb.MemberAddResponse>(EtcdMethods.MemberAdd, async (r, c) =>
        {
            var (added, members) = await member.AddMemberAsync(r.PeerURLs.ToList(), r.IsLearner, c.CancellationToken).ConfigureAwait(false);
            var response = new Pb.MemberAddResponse
            {
                Header = await HeaderAsync(member).ConfigureAwait(false),
                Member = ProtoMapping.ToProto(added),
            };
            response.Members.AddRange(members.Select(ProtoMapping.ToProto));
            return response;
        });
        server.MapUnary<Pb.MemberRemoveRequest, Pb.MemberRemoveResponse>(EtcdMethods.MemberRemove, async (r, c) =>
        {
            var members = await member.RemoveMemberAsync(r.ID, c.CancellationToken).ConfigureAwait(false);
            var response = new Pb.MemberRemoveResponse { Header = await HeaderAsync(member).ConfigureAwait(false) };
            response.Members.AddRange(members.Select(ProtoMapping.ToProto));
            return response;
        });
        server.MapUnary<Pb.MemberPromoteRequest, Pb.MemberPromoteResponse>(EtcdMethods.MemberPromote, async (r, c) =>
        {
            var members = await member.PromoteMemberAsync(r.ID, c.CancellationToken).ConfigureAwait(false);
            var response = new Pb.MemberPromoteResponse { Header = await HeaderAsync(member).ConfigureAwait(false) };
            response.Members.AddRange(members.Select(ProtoMapping.ToProto));
            return response;
        });
        server.MapUnary<Pb.MemberUpdateRequest, Pb.MemberUpdateResponse>(EtcdMethods.MemberUpdate, async (r, c) =>
        {
            var members = await member.UpdateMemberAsync(r.ID, r.PeerURLs.ToList(), c.CancellationToken).ConfigureAwait(false);
            var response = new Pb.MemberUpdateResponse { Header = await HeaderAsync(member).ConfigureAwait(false) };
            response.Members.AddRange(members.Select(ProtoMapping.ToProto));
            return response;
        });
    }

    private static void MapMaintenance(GrpcServer server, StoreMember member)
    {
        server.MapUnary<Pb.StatusRequest, Pb.StatusResponse>(EtcdMethods.Status, async (r, c) =>
        {
            var status = await member.StatusAsync().ConfigureAwait(false);
            var response = new Pb.StatusResponse
            {
                Header = await HeaderAsync(member).ConfigureAwait(false),
                Version = ApiVersion,
                DbSize = status.DbSizeBytes,
                Leader = status.Leader,
                RaftIndex = status.RaftIndex,
                RaftTerm = status.Term,
                RaftAppliedIndex = status.AppliedIndex,
                DbSizeInUse = status.DbSizeBytes,
                IsLearner = status.IsLearner,
            };
            response.Errors.AddRange(status.Alarms.Select(a => $"memberID:{a.MemberId} alarm:{AlarmName(a.Alarm)} "));
            return response;
        });
        server.MapUnary<Pb.AlarmRequest, Pb.AlarmResponse>(EtcdMethods.Alarm, async (r, c) =>
        {
            var request = new AlarmRequest { Action = (AlarmAction)r.Action, MemberId = r.MemberID, Alarm = (AlarmType)r.Alarm };
            var (alarms, header) = await Write<AlarmResponse>(member, request, c.CancellationToken).ConfigureAwait(false);
            var response = new Pb.AlarmResponse { Header = header };
            response.Alarms.AddRange(alarms.Alarms.Select(a => new Pb.AlarmMember { MemberID = a.MemberId, Alarm = (Pb.AlarmType)a.Alarm }));
            return response;
        });
        server.MapUnary<Pb.HashKVRequest, Pb.HashKVResponse>(EtcdMethods.HashKV, async (r, c) =>
        {
            var (hash, error, header) = await member.ReadAsync(true, store =>
            {
                var (h, e) = store.HashKv(r.Revision);
                return (h, e, member.Header());
            }, c.CancellationToken).ConfigureAwait(false);
            if (error is not null)
            {
                throw ToException(error);
            }

            return new Pb.HashKVResponse { Header = header, Hash = hash.Hash, CompactRevision = hash.CompactRevision };
        });
        server.MapUnary<Pb.HashRequest, Pb.HashResponse>(EtcdMethods.Hash, async (r, c) =>
        {
            var (hash, header) = await member.ReadAsync(true, store => (store.HashKv(0).Hash, member.Header()), c.CancellationToken)
                .ConfigureAwait(false);
            return new Pb.HashResponse { Header = header, Hash = hash.Hash };
        });
        server.MapUnary<Pb.DefragmentRequest, Pb.DefragmentResponse>(EtcdMethods.Defragment, async (r, c) =>
            new Pb.DefragmentResponse { Header = await HeaderAsync(member).ConfigureAwait(false) });
        server.MapUnary<Pb.MoveLeaderRequest, Pb.MoveLeaderResponse>(EtcdMethods.MoveLeader, async (r, c) =>
        {
            if (!member.IsLeader)
            {
                throw EtcdErrors.NotLeader.ToException();
            }

            var members = await member.MembersAsync().ConfigureAwait(false);
            if (!members.Any(m => m.Id == r.TargetID && !m.IsLearner))
            {
                throw EtcdErrors.BadLeaderTransferee.ToException();
            }

            if (!await member.TransferLeadershipAsync(r.TargetID, TimeSpan.FromSeconds(5)).ConfigureAwait(false))
            {
                throw EtcdErrors.TimeoutDueToLeaderFail.ToException();
            }

            return new Pb.MoveLeaderResponse { Header = await HeaderAsync(member).ConfigureAwait(false) };
        });
        server.MapServerStreaming<Pb.SnapshotRequest, Pb.SnapshotResponse>(EtcdMethods.Snapshot, async (r, stream, c) =>
        {
            var (data, header) = await member.ReadAsync(true, store => (store.Snapshot(), member.Header()), c.CancellationToken)
                .ConfigureAwait(false);
            // etcdctl expects etcd's layout: a body in 512-byte pages followed by its SHA-256. The body is
            // Trireme's own snapshot format zero-padded to whole pages (not a bbolt file).
            var body = new byte[((data.Length + 511) / 512 * 512) + 32];
            data.CopyTo(body, 0);
            System.Security.Cryptography.SHA256.HashData(body.AsSpan(0, body.Length - 32), body.AsSpan(body.Length - 32));
            for (var at = 0; at < body.Length; at += SnapshotChunkBytes)
            {
                var length = Math.Min(SnapshotChunkBytes, body.Length - at);
                await stream.WriteAsync(new Pb.SnapshotResponse
                {
                    Header = header,
                    RemainingBytes = (ulong)(body.Length - at - length),
                    Blob = ByteString.CopyFrom(body, at, length),
                }, c.CancellationToken).ConfigureAwait(false);
            }
        });
    }

    private static string AlarmName(AlarmType alarm) => alarm switch
    {
        AlarmType.NoSpace => "NOSPACE",
        AlarmType.Corrupt => "CORRUPT",
        _ => "NONE",
    };
}
