namespace Trireme.Raft.Core;

/// <summary>Where a snapshot sits in the log and the configuration in force at that index.</summary>
public sealed record SnapshotMetadata(ulong Index, ulong Term, ConfState ConfState);

/// <summary>An application state machine image at <see cref="SnapshotMetadata.Index"/>; Data is opaque to the core.</summary>
public sealed record Snapshot(SnapshotMetadata Metadata, ReadOnlyMemory<byte> Data);
