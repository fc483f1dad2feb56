namespace Trireme.Raft.Core;

/// <summary>
/// The answer to a ReadIndex request: once the local applied index reaches Index, a read that started
/// before the request may be served linearizably from the local state machine.
/// </summary>
public readonly record struct ReadState(ulong Index, ReadOnlyMemory<byte> RequestContext);
