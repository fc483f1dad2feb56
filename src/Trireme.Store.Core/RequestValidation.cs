namespace Trireme.Store.Core;

/// <summary>
/// The checks etcd's gRPC layer makes before proposing (v3rpc checkPutRequest, checkTxnRequest,
/// checkIntervals). The host should call <see cref="Validate"/> before proposing so bad requests
/// never reach the log; apply calls it again so a command that slipped through fails the same way on
/// every member.
/// </summary>
public static class RequestValidation
{
    public static StoreError? Validate(StoreRequest request, int maxTxnOps) => request switch
    {
        RangeRequest r => r.Key.Length == 0 ? StoreError.EmptyKey : null,
        PutRequest p => ValidatePut(p),
        DeleteRangeRequest d => d.Key.Length == 0 ? StoreError.EmptyKey : null,
        TxnRequest t => ValidateTxn(t, maxTxnOps) ?? CheckIntervals(t.Success).Error ?? CheckIntervals(t.Failure).Error,
        _ => null,
    };

    private static StoreError? ValidatePut(PutRequest put)
    {
        if (put.Key.Length == 0)
        {
            return StoreError.EmptyKey;
        }

        if (put.IgnoreValue && put.Value.Length != 0)
        {
            return StoreError.ValueProvided;
        }

        return put.IgnoreLease && put.Lease != 0 ? StoreError.LeaseProvided : null;
    }

    private static StoreError? ValidateTxn(TxnRequest txn, int maxTxnOps)
    {
        int ops = Math.Max(txn.Compare.Count, Math.Max(txn.Success.Count, txn.Failure.Count));
        if (ops > maxTxnOps)
        {
            return StoreError.TooManyOps;
        }

        foreach (Compare compare in txn.Compare)
        {
            if (compare.Key.Length == 0)
            {
                return StoreError.EmptyKey;
            }
        }

        foreach (StoreRequest op in txn.Success.Concat(txn.Failure))
        {
            StoreError? error = op switch
            {
                TxnRequest nested => ValidateTxn(nested, maxTxnOps - ops),
                RangeRequest or PutRequest or DeleteRangeRequest => Validate(op, maxTxnOps),
                _ => StoreError.KeyNotFound, // etcd's answer to an empty/unknown op
            };
            if (error is not null)
            {
                return error;
            }
        }

        return null;
    }

    /// <summary>
    /// etcd's checkIntervals: within one txn, a key may be put at most once and never in a range the same
    /// branch deletes; nested txns count with their parent (then/else of one nested txn exclude each other).
    /// </summary>
    private static (HashSet<byte[]> Puts, List<(byte[] Key, byte[] End)> Deletes, StoreError? Error) CheckIntervals(
        IReadOnlyList<StoreRequest> ops)
    {
        var deletes = new List<(byte[] Key, byte[] End)>();
        foreach (StoreRequest op in ops)
        {
            if (op is DeleteRangeRequest delete)
            {
                deletes.Add((delete.Key, delete.RangeEnd));
            }
        }

        var puts = new HashSet<byte[]>(ByteKeys.Instance);
        foreach (StoreRequest op in ops)
        {
            if (op is not TxnRequest nested)
            {
                continue;
            }

            var then = CheckIntervals(nested.Success);
            if (then.Error is not null)
            {
                return then;
            }

            var otherwise = CheckIntervals(nested.Failure);
            if (otherwise.Error is not null)
            {
                return otherwise;
            }

            foreach (byte[] key in then.Puts)
            {
                if (puts.Contains(key) || Deleted(deletes, key))
                {
                    return (puts, deletes, StoreError.DuplicateKey);
                }

                puts.Add(key);
            }

            foreach (byte[] key in otherwise.Puts)
            {
                if ((puts.Contains(key) && !then.Puts.Contains(key)) || Deleted(deletes, key))
                {
                    return (puts, deletes, StoreError.DuplicateKey);
                }

                puts.Add(key);
            }

            deletes.AddRange(then.Deletes);
            deletes.AddRange(otherwise.Deletes);
        }

        foreach (StoreRequest op in ops)
        {
            if (op is PutRequest put)
            {
                if (puts.Contains(put.Key) || Deleted(deletes, put.Key))
                {
                    return (puts, deletes, StoreError.DuplicateKey);
                }

                puts.Add(put.Key);
            }
        }

        return (puts, deletes, null);
    }

    private static bool Deleted(List<(byte[] Key, byte[] End)> deletes, byte[] key)
    {
        foreach ((byte[] start, byte[] end) in deletes)
        {
            // etcd builds this interval from the raw range_end, so a "from key" delete ("\0") is the
            // empty interval [key, "\0") there and never conflicts; we answer as etcd does.
            if (!ByteKeys.IsFromKey(end) && ByteKeys.InRange(start, end, key))
            {
                return true;
            }
        }

        return false;
    }
}
