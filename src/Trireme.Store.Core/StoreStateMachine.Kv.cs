namespace Trireme.Store.Core;

// Key-value operations, following etcd 3.4's applierV3backend (Range, Put, DeleteRange, Txn).
public sealed partial class StoreStateMachine
{
    private (RangeResponse? Response, StoreError? Error) ExecuteRange(RangeRequest request)
    {
        if (_mvcc.CheckReadRevision(request.Revision) is { } error)
        {
            return (null, error);
        }

        bool filtered = request.MinModRevision != 0 || request.MaxModRevision != 0 ||
                        request.MinCreateRevision != 0 || request.MaxCreateRevision != 0;

        // As etcd: sorting or filtering needs every key first; otherwise fetch one more than the limit
        // to learn whether there are more.
        long fetch = request.SortOrder != SortOrder.None || filtered ? 0 : request.Limit > 0 ? request.Limit + 1 : 0;
        (List<KeyValue> kvs, long count) = _mvcc.Range(request.Key, request.RangeEnd, request.Revision, fetch, request.CountOnly);
        if (filtered)
        {
            kvs.RemoveAll(kv =>
                (request.MaxModRevision != 0 && kv.ModRevision > request.MaxModRevision) ||
                (request.MinModRevision != 0 && kv.ModRevision < request.MinModRevision) ||
                (request.MaxCreateRevision != 0 && kv.CreateRevision > request.MaxCreateRevision) ||
                (request.MinCreateRevision != 0 && kv.CreateRevision < request.MinCreateRevision));
        }

        Sort(kvs, request.SortOrder, request.SortTarget);
        bool more = false;
        if (request.Limit > 0 && kvs.Count > request.Limit)
        {
            kvs.RemoveRange((int)request.Limit, kvs.Count - (int)request.Limit);
            more = true;
        }

        if (request.KeysOnly)
        {
            for (int i = 0; i < kvs.Count; i++)
            {
                kvs[i] = kvs[i].WithoutValue();
            }
        }

        return (new RangeResponse { Kvs = kvs, More = more, Count = count, Revision = _mvcc.ReadRevision }, null);
    }

    /// <summary>
    /// etcd sorts ascending by default when a target other than KEY is given (mvcc already returns key
    /// order). Ties keep key order: the sort is stable, so every member answers identically.
    /// </summary>
    private static void Sort(List<KeyValue> kvs, SortOrder order, SortTarget target)
    {
        if (order == SortOrder.None && target != SortTarget.Key)
        {
            order = SortOrder.Ascend;
        }

        if (order == SortOrder.None || (order == SortOrder.Ascend && target == SortTarget.Key))
        {
            return;
        }

        Comparison<KeyValue> compare = target switch
        {
            SortTarget.Version => (a, b) => a.Version.CompareTo(b.Version),
            SortTarget.Create => (a, b) => a.CreateRevision.CompareTo(b.CreateRevision),
            SortTarget.Mod => (a, b) => a.ModRevision.CompareTo(b.ModRevision),
            SortTarget.Value => (a, b) => a.Value.Span.SequenceCompareTo(b.Value.Span),
            _ => (a, b) => a.Key.AsSpan().SequenceCompareTo(b.Key),
        };
        int sign = order == SortOrder.Descend ? -1 : 1;
        KeyValue[] sorted = [.. kvs.OrderBy(kv => kv, Comparer<KeyValue>.Create((a, b) => sign * compare(a, b)))];
        kvs.Clear();
        kvs.AddRange(sorted);
    }

    private (PutResponse? Response, StoreError? Error) ExecutePutAlone(PutRequest request)
    {
        if (CheckPut(request) is { } error)
        {
            return (null, error);
        }

        _mvcc.BeginWrite();
        PutResponse response = ExecutePut(request);
        EndWrite();
        return (response, null);
    }

    private (DeleteRangeResponse? Response, StoreError? Error) ExecuteDeleteAlone(DeleteRangeRequest request)
    {
        _mvcc.BeginWrite();
        DeleteRangeResponse response = ExecuteDelete(request);
        EndWrite();
        return (response, null);
    }

    /// <summary>What etcd's checkRequestPut verifies before any write: ignore_* needs the key, a lease must exist.</summary>
    private StoreError? CheckPut(PutRequest request)
    {
        if ((request.IgnoreValue || request.IgnoreLease) && _mvcc.Get(request.Key) is null)
        {
            return StoreError.KeyNotFound;
        }

        return request.Lease != 0 && Leases.Lookup(request.Lease) is null ? StoreError.LeaseNotFound : null;
    }

    /// <summary>Writes one put inside the open write; checks were made before the write began.</summary>
    private PutResponse ExecutePut(PutRequest request)
    {
        // The key was checked to exist before the txn began; only a "from key" delete earlier in the same
        // txn (which etcd's duplicate check lets through) can have removed it since. etcd panics there;
        // we write an empty value without a lease instead, identically on every member.
        // The plain put (nearly all of them) finds its key once, inside Put.
        KeyValue? existing = request.IgnoreValue || request.IgnoreLease ? _mvcc.Get(request.Key) : null;
        ReadOnlyMemory<byte> value = request.IgnoreValue ? existing?.Value ?? ReadOnlyMemory<byte>.Empty : request.Value;
        long lease = request.IgnoreLease ? existing?.Lease ?? 0 : request.Lease;
        (KeyValue written, KeyValue? previous) = _mvcc.Put(request.Key, value, lease);
        if (previous is not null && previous.Lease != 0)
        {
            Leases.Detach(previous.Lease, written.Key);
        }

        Leases.Attach(lease, written.Key);
        return new PutResponse { PrevKv = request.PrevKv ? previous : null, Revision = _mvcc.CurrentRevision + 1 };
    }

    private DeleteRangeResponse ExecuteDelete(DeleteRangeRequest request)
    {
        List<KeyValue> deleted = _mvcc.DeleteRange(request.Key, request.RangeEnd);
        foreach (KeyValue kv in deleted)
        {
            Leases.Detach(kv.Lease, kv.Key);
        }

        return new DeleteRangeResponse
        {
            Deleted = deleted.Count,
            PrevKvs = request.PrevKv ? deleted : [],
            Revision = deleted.Count > 0 ? _mvcc.CurrentRevision + 1 : _mvcc.ReadRevision,
        };
    }

    private void EndWrite()
    {
        IReadOnlyList<WatchEvent> events = _mvcc.EndWrite();
        Watches.OnCommitted(events);
    }

    /// <summary>
    /// etcd's applyTxn: every compare (nested ones too) is evaluated against the state before the txn,
    /// which fixes the path; then puts and ranges on that path are checked, so a txn either fails whole
    /// or runs whole; then the ops run in order inside one write (one revision), later ops seeing
    /// earlier writes.
    /// </summary>
    private (TxnResponse? Response, StoreError? Error) ExecuteTxn(TxnRequest request)
    {
        var path = new List<bool>();
        ComputePath(request, path);
        int cursor = 0;
        if (CheckPath(request, path, ref cursor) is { } error)
        {
            return (null, error);
        }

        _mvcc.BeginWrite();
        cursor = 0;
        TxnResponse response = RunTxn(request, path, ref cursor);
        EndWrite();
        return (response, null);
    }

    private void ComputePath(TxnRequest txn, List<bool> path)
    {
        bool succeeded = txn.Compare.All(Evaluate);
        path.Add(succeeded);
        foreach (StoreRequest op in succeeded ? txn.Success : txn.Failure)
        {
            if (op is TxnRequest nested)
            {
                ComputePath(nested, path);
            }
        }
    }

    private StoreError? CheckPath(TxnRequest txn, List<bool> path, ref int cursor)
    {
        bool succeeded = path[cursor++];
        foreach (StoreRequest op in succeeded ? txn.Success : txn.Failure)
        {
            StoreError? error = op switch
            {
                PutRequest put => CheckPut(put),
                RangeRequest range => range.Revision == 0 ? null : _mvcc.CheckReadRevision(range.Revision),
                _ => null,
            };
            if (op is TxnRequest nested)
            {
                error = CheckPath(nested, path, ref cursor);
            }

            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    private TxnResponse RunTxn(TxnRequest txn, List<bool> path, ref int cursor)
    {
        bool succeeded = path[cursor++];
        var responses = new List<StoreResponse>();
        foreach (StoreRequest op in succeeded ? txn.Success : txn.Failure)
        {
            switch (op)
            {
                case RangeRequest range:
                    responses.Add(ExecuteRange(range).Response!);
                    break;
                case PutRequest put:
                    responses.Add(ExecutePut(put));
                    break;
                case DeleteRangeRequest delete:
                    responses.Add(ExecuteDelete(delete));
                    break;
                case TxnRequest nested:
                    responses.Add(RunTxn(nested, path, ref cursor));
                    break;
                default:
                    throw new InvalidOperationException($"validated txn holds a {op.GetType().Name}");
            }
        }

        return new TxnResponse { Succeeded = succeeded, Responses = responses, Revision = _mvcc.ReadRevision };
    }

    /// <summary>etcd's applyCompare: every key in the compare's range must satisfy it.</summary>
    private bool Evaluate(Compare compare)
    {
        (List<KeyValue> kvs, _) = _mvcc.Range(compare.Key, compare.RangeEnd, 0, 0, countOnly: false);
        if (kvs.Count == 0)
        {
            // A missing key has no value to compare, and "" cannot stand for missing: always false.
            return compare.Target != CompareTarget.Value && Holds(compare, null);
        }

        foreach (KeyValue kv in kvs)
        {
            if (!Holds(compare, kv))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Holds(Compare compare, KeyValue? kv)
    {
        int order = compare.Target switch
        {
            CompareTarget.Value => (kv?.Value ?? ReadOnlyMemory<byte>.Empty).Span.SequenceCompareTo(compare.Value),
            CompareTarget.Create => (kv?.CreateRevision ?? 0).CompareTo(compare.Number),
            CompareTarget.Mod => (kv?.ModRevision ?? 0).CompareTo(compare.Number),
            CompareTarget.Version => (kv?.Version ?? 0).CompareTo(compare.Number),
            CompareTarget.Lease => (kv?.Lease ?? 0).CompareTo(compare.Number),
            _ => 0,
        };
        return compare.Result switch
        {
            CompareResult.Equal => order == 0,
            CompareResult.NotEqual => order != 0,
            CompareResult.Greater => order > 0,
            CompareResult.Less => order < 0,
            _ => true,
        };
    }
}
