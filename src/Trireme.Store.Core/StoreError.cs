namespace Trireme.Store.Core;

/// <summary>
/// gRPC status codes (the numbers are gRPC's) so the host can answer with the code etcd uses without
/// this project depending on a gRPC library.
/// </summary>
public enum GrpcStatusCode
{
    Ok = 0,
    InvalidArgument = 3,
    NotFound = 5,
    FailedPrecondition = 9,
    OutOfRange = 11,
    ResourceExhausted = 8,
    DataLoss = 15,
    Internal = 13,
}

/// <summary>Every refusal the store can give. Values are persisted nowhere, but stay stable anyway.</summary>
public enum StoreErrorCode
{
    EmptyKey = 1,
    ValueProvided = 2,
    LeaseProvided = 3,
    KeyNotFound = 4,
    DuplicateKey = 5,
    TooManyOps = 6,
    Compacted = 7,
    FutureRevision = 8,
    LeaseNotFound = 9,
    LeaseExists = 10,
    LeaseTtlTooLarge = 11,
    NoSpace = 12,
    Corrupt = 13,
    BadCommand = 14,
    TooManyWatchers = 15,
    NotPrimary = 16,
}

/// <summary>
/// An expected refusal, returned (never thrown) by apply and reads. <see cref="Message"/> is etcd's
/// exact text and <see cref="Status"/> the gRPC code etcd answers with, so clients react the same way.
/// </summary>
public sealed class StoreError
{
    private StoreError(StoreErrorCode code, GrpcStatusCode status, string message)
    {
        Code = code;
        Status = status;
        Message = message;
    }

    public StoreErrorCode Code { get; }
    public GrpcStatusCode Status { get; }
    public string Message { get; }

    public static readonly StoreError EmptyKey =
        new(StoreErrorCode.EmptyKey, GrpcStatusCode.InvalidArgument, "etcdserver: key is not provided");
    public static readonly StoreError ValueProvided =
        new(StoreErrorCode.ValueProvided, GrpcStatusCode.InvalidArgument, "etcdserver: value is provided");
    public static readonly StoreError LeaseProvided =
        new(StoreErrorCode.LeaseProvided, GrpcStatusCode.InvalidArgument, "etcdserver: lease is provided");
    public static readonly StoreError KeyNotFound =
        new(StoreErrorCode.KeyNotFound, GrpcStatusCode.InvalidArgument, "etcdserver: key not found");
    public static readonly StoreError DuplicateKey =
        new(StoreErrorCode.DuplicateKey, GrpcStatusCode.InvalidArgument, "etcdserver: duplicate key given in txn request");
    public static readonly StoreError TooManyOps =
        new(StoreErrorCode.TooManyOps, GrpcStatusCode.InvalidArgument, "etcdserver: too many operations in txn request");
    public static readonly StoreError Compacted =
        new(StoreErrorCode.Compacted, GrpcStatusCode.OutOfRange, "etcdserver: mvcc: required revision has been compacted");
    public static readonly StoreError FutureRevision =
        new(StoreErrorCode.FutureRevision, GrpcStatusCode.OutOfRange, "etcdserver: mvcc: required revision is a future revision");
    public static readonly StoreError LeaseNotFound =
        new(StoreErrorCode.LeaseNotFound, GrpcStatusCode.NotFound, "etcdserver: requested lease not found");
    public static readonly StoreError LeaseExists =
        new(StoreErrorCode.LeaseExists, GrpcStatusCode.FailedPrecondition, "etcdserver: lease already exists");
    public static readonly StoreError LeaseTtlTooLarge =
        new(StoreErrorCode.LeaseTtlTooLarge, GrpcStatusCode.OutOfRange, "etcdserver: too large lease TTL");
    public static readonly StoreError NoSpace =
        new(StoreErrorCode.NoSpace, GrpcStatusCode.ResourceExhausted, "etcdserver: mvcc: database space exceeded");
    public static readonly StoreError Corrupt =
        new(StoreErrorCode.Corrupt, GrpcStatusCode.DataLoss, "etcdserver: corrupt cluster");
    public static readonly StoreError BadCommand =
        new(StoreErrorCode.BadCommand, GrpcStatusCode.Internal, "trireme: store: undecodable command in the log");
    public static readonly StoreError TooManyWatchers =
        new(StoreErrorCode.TooManyWatchers, GrpcStatusCode.ResourceExhausted, "trireme: store: too many watchers");
    public static readonly StoreError NotPrimary =
        new(StoreErrorCode.NotPrimary, GrpcStatusCode.FailedPrecondition, "trireme: store: this member is not the primary lessor (not the leader)");

    public override string ToString() => Message;
}
