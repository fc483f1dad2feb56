using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Trireme.Store.Host;

/// <summary>One store member as the Cluster API reports it. Replicated: conf-change entries and snapshots carry it.</summary>
public sealed record MemberInfo
{
    public ulong Id { get; init; }
    public string Name { get; init; } = "";
    public IReadOnlyList<string> PeerUrls { get; init; } = [];
    public IReadOnlyList<string> ClientUrls { get; init; } = [];
    public bool IsLearner { get; init; }
}

/// <summary>What rides in a ConfChange entry's context: the member plus who asked (to complete the call).</summary>
internal sealed record ConfChangeContext(MemberInfo Member, ulong Proposer, ulong RequestId);

[JsonSerializable(typeof(MemberInfo))]
[JsonSerializable(typeof(List<MemberInfo>))]
[JsonSerializable(typeof(ConfChangeContext))]
internal sealed partial class MemberJson : JsonSerializerContext;

/// <summary>Deterministic identities, so every member (and a joiner) computes the same ids from flags.</summary>
public static class MemberIdentity
{
    /// <summary>A member id is a hash of its sorted peer URLs and the cluster token (as etcd hashes peer
    /// URLs + token), so the id `member add` assigns equals the one the joiner derives from its own flags.</summary>
    public static ulong MemberId(IEnumerable<string> peerUrls, string clusterToken) =>
        Hash(string.Join(",", peerUrls.Select(u => u.TrimEnd('/')).Order(StringComparer.Ordinal)) + "|" + clusterToken);

    /// <summary>The cluster id is a hash of the cluster token: stable across membership changes, so a joiner
    /// started with <c>--initial-cluster-state existing</c> knows it without asking.</summary>
    public static ulong ClusterId(string clusterToken) => Hash("cluster|" + clusterToken);

    private static ulong Hash(string text)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(text));
        var id = BitConverter.ToUInt64(digest, 0);
        return id == 0 ? 1 : id;
    }

    internal static byte[] Encode(List<MemberInfo> members) => JsonSerializer.SerializeToUtf8Bytes(members, MemberJson.Default.ListMemberInfo);

    internal static List<MemberInfo> DecodeList(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, MemberJson.Default.ListMemberInfo) ?? [];
}
