// Test helper, not a test: drives a StoreStateMachine the way the host will, by encoding every
// request with CommandCodec and applying it at the next log index, so every test also exercises the
// codec and the applied-index bookkeeping.
using System.Text;
using Trireme.Store.Core;
using Trireme.Store.Core.Codec;

namespace Trireme.Store.Core.Tests;

internal sealed class TestStore
{
    public TestStore(StoreOptions? options = null) => Machine = new StoreStateMachine(options);

    public StoreStateMachine Machine { get; }
    public long Index { get; set; }
    public long NowTicks { get; set; }

    public static byte[] B(string text) => Encoding.UTF8.GetBytes(text);
    public static string S(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    public static string S(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);

    public ApplyResult Apply(StoreRequest request, ulong proposer = 0) =>
        Machine.Apply(++Index, CommandCodec.Encode(new StoreCommand(request, proposer)), NowTicks);

    public T Ok<T>(StoreRequest request)
        where T : StoreResponse
    {
        ApplyResult result = Apply(request);
        Assert.Null(result.Error);
        return Assert.IsType<T>(result.Response);
    }

    public StoreError Fail(StoreRequest request)
    {
        ApplyResult result = Apply(request);
        Assert.NotNull(result.Error);
        return result.Error;
    }

    public PutResponse Put(string key, string value, long lease = 0, bool prevKv = false) =>
        Ok<PutResponse>(new PutRequest { Key = B(key), Value = B(value), Lease = lease, PrevKv = prevKv });

    public DeleteRangeResponse Delete(string key, string? rangeEnd = null, bool prevKv = false) =>
        Ok<DeleteRangeResponse>(new DeleteRangeRequest { Key = B(key), RangeEnd = rangeEnd is null ? [] : B(rangeEnd), PrevKv = prevKv });

    public RangeResponse Range(RangeRequest request)
    {
        (RangeResponse? response, StoreError? error) = Machine.Range(request);
        Assert.Null(error);
        return response!;
    }

    public KeyValue? Get(string key, long revision = 0) =>
        Range(new RangeRequest { Key = B(key), Revision = revision }).Kvs.SingleOrDefault();

    public string[] Keys(RangeRequest request) => [.. Range(request).Kvs.Select(kv => S(kv.Key))];

    public long Grant(long ttl, long id = 0) => Ok<LeaseGrantResponse>(new LeaseGrantRequest { Ttl = ttl, Id = id }).Id;
}
