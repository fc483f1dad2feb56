namespace Trireme.Store.Core.Codec;

/// <summary>
/// Tags of the command format. Persisted in every Raft log entry: never renumber, only add.
/// (CommandCodecTests freezes them.)
/// </summary>
public enum CommandKind : byte
{
    Range = 1,
    Put = 2,
    DeleteRange = 3,
    Txn = 4,
    Compaction = 5,
    LeaseGrant = 6,
    LeaseRevoke = 7,
    LeaseCheckpoint = 8,
    Alarm = 9,
}

/// <summary>
/// The compact binary encoding of <see cref="StoreCommand"/> that goes into Raft log entries.
/// Layout: format version (1 byte) · <see cref="CommandKind"/> (1 byte) · proposer member ID (uvarint)
/// · the request's fields in a fixed order (docs/store.md lists them). Integers are LEB128 varints
/// (signed ones zigzag), byte strings length-prefixed, flags packed in one byte. A decoder rejects
/// unknown versions, kinds and enum values, over-long lengths, nesting deeper than
/// <see cref="MaxTxnDepth"/> and trailing bytes, with a <see cref="StoreDecodeException"/>.
/// </summary>
public static class CommandCodec
{
    /// <summary>Current format version; a new layout gets a new number and the decoder keeps reading old ones.</summary>
    public const byte FormatVersion = 1;

    /// <summary>Nested txns deeper than this are refused: bounds decoder recursion on hostile bytes.</summary>
    public const int MaxTxnDepth = 32;

    /// <summary>Largest scratch buffer a thread keeps between encodes; a bigger one (a large txn) is dropped.</summary>
    private const int KeptScratchBytes = 64 * 1024;

    /// <summary>Each proposing thread's scratch writer: an encode then allocates only its exact-size result.</summary>
    [ThreadStatic]
    private static WireWriter? t_scratch;

    public static byte[] Encode(StoreCommand command) => Encode(command, reservedPrefixBytes: 0);

    /// <summary>The encoding after <paramref name="reservedPrefixBytes"/> zero bytes that the caller fills
    /// (the host's entry envelope), in one array.</summary>
    public static byte[] Encode(StoreCommand command, int reservedPrefixBytes)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentOutOfRangeException.ThrowIfNegative(reservedPrefixBytes);
        var writer = t_scratch ?? new WireWriter(1024);
        t_scratch = null; // not shared with a nested call on this thread while in use
        writer.Reset();
        writer.Skip(reservedPrefixBytes);
        writer.Byte(FormatVersion);
        writer.Byte((byte)KindOf(command.Request));
        writer.UVarint(command.ProposerMemberId);
        WriteBody(writer, command.Request, depth: 0);
        var encoded = writer.Written.ToArray();
        encoded.AsSpan(0, reservedPrefixBytes).Clear(); // the scratch buffer held an older command there
        if (writer.Capacity <= KeptScratchBytes)
        {
            t_scratch = writer;
        }

        return encoded;
    }

    public static StoreCommand Decode(ReadOnlySpan<byte> data) => Decode(new WireReader(data));

    /// <summary>
    /// Decodes like <see cref="Decode(ReadOnlySpan{byte})"/>, but the value of a plain put (the command
    /// itself, not a put inside a txn) is a slice of <paramref name="data"/> rather than a copy: the
    /// stored version then keeps the log entry's array alive instead of an array of its own, one
    /// long-lived array per put fewer for the garbage collector to promote. Only a plain put shares,
    /// so what the slice keeps beyond the value is the command's own few bytes and key, never other
    /// values. <paramref name="data"/> must never change afterwards (Raft log entries do not).
    /// </summary>
    public static StoreCommand Decode(ReadOnlyMemory<byte> data) => Decode(new WireReader(data));

    private static StoreCommand Decode(WireReader reader)
    {
        byte version = reader.Byte();
        if (version != FormatVersion)
        {
            throw new StoreDecodeException(DecodeError.UnknownVersion, $"command format version {version}");
        }

        var kind = (CommandKind)reader.Byte();
        ulong proposer = reader.UVarint();
        StoreRequest request = ReadBody(ref reader, kind, depth: 0);
        reader.End();
        return new StoreCommand(request, proposer);
    }

    public static CommandKind KindOf(StoreRequest request) => request switch
    {
        RangeRequest => CommandKind.Range,
        PutRequest => CommandKind.Put,
        DeleteRangeRequest => CommandKind.DeleteRange,
        TxnRequest => CommandKind.Txn,
        CompactionRequest => CommandKind.Compaction,
        LeaseGrantRequest => CommandKind.LeaseGrant,
        LeaseRevokeRequest => CommandKind.LeaseRevoke,
        LeaseCheckpointRequest => CommandKind.LeaseCheckpoint,
        AlarmRequest => CommandKind.Alarm,
        _ => throw new ArgumentException($"not a store request: {request.GetType().Name}", nameof(request)),
    };

    private static void WriteBody(WireWriter writer, StoreRequest request, int depth)
    {
        switch (request)
        {
            case RangeRequest r:
                writer.Bytes(r.Key);
                writer.Bytes(r.RangeEnd);
                writer.Varint(r.Limit);
                writer.Varint(r.Revision);
                writer.Byte((byte)r.SortOrder);
                writer.Byte((byte)r.SortTarget);
                writer.Byte(Flags(r.Serializable, r.KeysOnly, r.CountOnly));
                writer.Varint(r.MinModRevision);
                writer.Varint(r.MaxModRevision);
                writer.Varint(r.MinCreateRevision);
                writer.Varint(r.MaxCreateRevision);
                break;
            case PutRequest p:
                writer.Bytes(p.Key);
                writer.Bytes(p.Value.Span);
                writer.Varint(p.Lease);
                writer.Byte(Flags(p.PrevKv, p.IgnoreValue, p.IgnoreLease));
                break;
            case DeleteRangeRequest d:
                writer.Bytes(d.Key);
                writer.Bytes(d.RangeEnd);
                writer.Byte(Flags(d.PrevKv, false, false));
                break;
            case TxnRequest t:
                WriteTxn(writer, t, depth);
                break;
            case CompactionRequest c:
                writer.Varint(c.Revision);
                writer.Byte(Flags(c.Physical, false, false));
                break;
            case LeaseGrantRequest g:
                writer.Varint(g.Ttl);
                writer.Varint(g.Id);
                break;
            case LeaseRevokeRequest v:
                writer.Varint(v.Id);
                break;
            case LeaseCheckpointRequest k:
                writer.UVarint((ulong)k.Checkpoints.Count);
                foreach (LeaseCheckpoint checkpoint in k.Checkpoints)
                {
                    writer.Varint(checkpoint.Id);
                    writer.Varint(checkpoint.RemainingTtl);
                }

                break;
            case AlarmRequest a:
                writer.Byte((byte)a.Action);
                writer.UVarint(a.MemberId);
                writer.Byte((byte)a.Alarm);
                break;
            default:
                throw new ArgumentException($"not a store request: {request.GetType().Name}", nameof(request));
        }
    }

    private static void WriteTxn(WireWriter writer, TxnRequest txn, int depth)
    {
        if (depth >= MaxTxnDepth)
        {
            throw new ArgumentException($"txn nested deeper than {MaxTxnDepth}", nameof(txn));
        }

        writer.UVarint((ulong)txn.Compare.Count);
        foreach (Compare compare in txn.Compare)
        {
            writer.Byte((byte)compare.Result);
            writer.Byte((byte)compare.Target);
            writer.Bytes(compare.Key);
            writer.Bytes(compare.RangeEnd);
            writer.Varint(compare.Number);
            writer.Bytes(compare.Value);
        }

        WriteOps(writer, txn.Success, depth);
        WriteOps(writer, txn.Failure, depth);
    }

    private static void WriteOps(WireWriter writer, IReadOnlyList<StoreRequest> ops, int depth)
    {
        writer.UVarint((ulong)ops.Count);
        foreach (StoreRequest op in ops)
        {
            CommandKind kind = KindOf(op);
            if (kind is not (CommandKind.Range or CommandKind.Put or CommandKind.DeleteRange or CommandKind.Txn))
            {
                throw new ArgumentException($"{kind} cannot be a txn op", nameof(ops));
            }

            writer.Byte((byte)kind);
            WriteBody(writer, op, depth + 1);
        }
    }

    private static StoreRequest ReadBody(ref WireReader reader, CommandKind kind, int depth)
    {
        switch (kind)
        {
            case CommandKind.Range:
            {
                byte[] key = reader.Bytes();
                byte[] rangeEnd = reader.Bytes();
                long limit = reader.Varint();
                long revision = reader.Varint();
                var sortOrder = reader.Enum<SortOrder>((int)SortOrder.Descend);
                var sortTarget = reader.Enum<SortTarget>((int)SortTarget.Value);
                (bool serializable, bool keysOnly, bool countOnly) = ReadFlags(ref reader);
                return new RangeRequest
                {
                    Key = key, RangeEnd = rangeEnd, Limit = limit, Revision = revision, SortOrder = sortOrder,
                    SortTarget = sortTarget, Serializable = serializable, KeysOnly = keysOnly, CountOnly = countOnly,
                    MinModRevision = reader.Varint(), MaxModRevision = reader.Varint(),
                    MinCreateRevision = reader.Varint(), MaxCreateRevision = reader.Varint(),
                };
            }

            case CommandKind.Put:
            {
                byte[] key = reader.Bytes();
                ReadOnlyMemory<byte> value = depth == 0 ? reader.SharedBytes() : reader.Bytes();
                long lease = reader.Varint();
                (bool prevKv, bool ignoreValue, bool ignoreLease) = ReadFlags(ref reader);
                return new PutRequest
                {
                    Key = key, Value = value, Lease = lease, PrevKv = prevKv, IgnoreValue = ignoreValue,
                    IgnoreLease = ignoreLease,
                };
            }

            case CommandKind.DeleteRange:
            {
                byte[] key = reader.Bytes();
                byte[] rangeEnd = reader.Bytes();
                return new DeleteRangeRequest { Key = key, RangeEnd = rangeEnd, PrevKv = ReadFlags(ref reader, allowed: 1).A };
            }

            case CommandKind.Txn:
                return ReadTxn(ref reader, depth);
            case CommandKind.Compaction:
            {
                long revision = reader.Varint();
                return new CompactionRequest { Revision = revision, Physical = ReadFlags(ref reader, allowed: 1).A };
            }

            case CommandKind.LeaseGrant:
            {
                long ttl = reader.Varint();
                return new LeaseGrantRequest { Ttl = ttl, Id = reader.Varint() };
            }

            case CommandKind.LeaseRevoke:
                return new LeaseRevokeRequest { Id = reader.Varint() };
            case CommandKind.LeaseCheckpoint:
            {
                int count = reader.Count();
                var checkpoints = new LeaseCheckpoint[count];
                for (int i = 0; i < count; i++)
                {
                    long id = reader.Varint();
                    checkpoints[i] = new LeaseCheckpoint(id, reader.Varint());
                }

                return new LeaseCheckpointRequest { Checkpoints = checkpoints };
            }

            case CommandKind.Alarm:
            {
                var action = reader.Enum<AlarmAction>((int)AlarmAction.Deactivate);
                ulong member = reader.UVarint();
                return new AlarmRequest { Action = action, MemberId = member, Alarm = reader.Enum<AlarmType>((int)AlarmType.Corrupt) };
            }

            default:
                throw new StoreDecodeException(DecodeError.UnknownKind, $"command kind {(byte)kind}");
        }
    }

    private static TxnRequest ReadTxn(ref WireReader reader, int depth)
    {
        if (depth >= MaxTxnDepth)
        {
            throw new StoreDecodeException(DecodeError.TooDeep, $"txn nested deeper than {MaxTxnDepth}");
        }

        int compareCount = reader.Count();
        var compares = new Compare[compareCount];
        for (int i = 0; i < compareCount; i++)
        {
            var result = reader.Enum<CompareResult>((int)CompareResult.NotEqual);
            var target = reader.Enum<CompareTarget>((int)CompareTarget.Lease);
            byte[] key = reader.Bytes();
            byte[] rangeEnd = reader.Bytes();
            long number = reader.Varint();
            compares[i] = new Compare
            {
                Result = result, Target = target, Key = key, RangeEnd = rangeEnd, Number = number, Value = reader.Bytes(),
            };
        }

        StoreRequest[] success = ReadOps(ref reader, depth);
        StoreRequest[] failure = ReadOps(ref reader, depth);
        return new TxnRequest { Compare = compares, Success = success, Failure = failure };
    }

    private static StoreRequest[] ReadOps(ref WireReader reader, int depth)
    {
        int count = reader.Count();
        var ops = new StoreRequest[count];
        for (int i = 0; i < count; i++)
        {
            var kind = (CommandKind)reader.Byte();
            if (kind is not (CommandKind.Range or CommandKind.Put or CommandKind.DeleteRange or CommandKind.Txn))
            {
                throw new StoreDecodeException(DecodeError.UnknownKind, $"txn op kind {(byte)kind}");
            }

            ops[i] = ReadBody(ref reader, kind, depth + 1);
        }

        return ops;
    }

    private static byte Flags(bool a, bool b, bool c) => (byte)((a ? 1 : 0) | (b ? 2 : 0) | (c ? 4 : 0));

    private static (bool A, bool B, bool C) ReadFlags(ref WireReader reader, byte allowed = 7)
    {
        byte flags = reader.Byte();
        if ((flags & ~allowed) != 0)
        {
            throw new StoreDecodeException(DecodeError.BadEnum, $"flags byte {flags}");
        }

        return ((flags & 1) != 0, (flags & 2) != 0, (flags & 4) != 0);
    }
}
