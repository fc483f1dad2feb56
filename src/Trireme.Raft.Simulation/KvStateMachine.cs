using System.Buffers.Binary;
using System.Text;
using Trireme.Linearizability;

namespace Trireme.Raft.Simulation;

/// <summary>
/// The small replicated key-value map the simulated clients use, with a session table (last sequence
/// and answer per client) so a command retried through another node applies once and the retry gets
/// the first answer. Snapshots serialize both, sorted, so equal states give equal bytes.
/// </summary>
internal sealed class KvStateMachine
{
    private readonly SortedDictionary<string, string> _data = new(StringComparer.Ordinal);
    private readonly SortedDictionary<int, (ulong Sequence, KvOutput Output)> _sessions = [];

    public string? Get(string key) => _data.TryGetValue(key, out var value) ? value : null;

    /// <summary>Applies a command; returns its answer, or null for a stale retry older than the
    /// client's last applied command (nobody waits for that answer any more).</summary>
    public KvOutput? Apply(in KvCommand command)
    {
        if (_sessions.TryGetValue(command.ClientId, out var session))
        {
            if (command.Sequence == session.Sequence)
            {
                return session.Output;
            }

            if (command.Sequence < session.Sequence)
            {
                return null;
            }
        }

        var output = Execute(command.Input);
        _sessions[command.ClientId] = (command.Sequence, output);
        return output;
    }

    public ulong StateHash()
    {
        ulong hash = 17;
        foreach (var (key, value) in _data)
        {
            hash = Hashing.Mix(hash ^ Hashing.Text(key) ^ (Hashing.Text(value) * 31));
        }

        foreach (var (client, session) in _sessions)
        {
            hash = Hashing.Mix(hash ^ ((ulong)client << 40) ^ session.Sequence);
        }

        return hash;
    }

    public byte[] Serialize()
    {
        using var stream = new MemoryStream();
        using var writer = new BinaryWriter(stream, Encoding.UTF8);
        writer.Write(_data.Count);
        foreach (var (key, value) in _data)
        {
            writer.Write(key);
            writer.Write(value);
        }

        writer.Write(_sessions.Count);
        foreach (var (client, (sequence, output)) in _sessions)
        {
            writer.Write(client);
            writer.Write(sequence);
            writer.Write(output.Succeeded);
            writer.Write(output.Value is not null);
            writer.Write(output.Value ?? "");
        }

        writer.Flush();
        return stream.ToArray();
    }

    public static KvStateMachine Deserialize(ReadOnlySpan<byte> bytes)
    {
        var machine = new KvStateMachine();
        if (bytes.IsEmpty)
        {
            return machine;
        }

        using var reader = new BinaryReader(new MemoryStream(bytes.ToArray()), Encoding.UTF8);
        var count = reader.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            machine._data[reader.ReadString()] = reader.ReadString();
        }

        count = reader.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            var client = reader.ReadInt32();
            var sequence = reader.ReadUInt64();
            var succeeded = reader.ReadBoolean();
            var hasValue = reader.ReadBoolean();
            var value = reader.ReadString();
            machine._sessions[client] = (sequence, new KvOutput(succeeded, hasValue ? value : null));
        }

        return machine;
    }

    private KvOutput Execute(in KvInput input)
    {
        var current = Get(input.Key);
        switch (input.Kind)
        {
            case KvOpKind.Get:
                return KvOutput.Read(current);
            case KvOpKind.Put:
                _data[input.Key] = input.Value!;
                return KvOutput.Done;
            case KvOpKind.Delete:
                _data.Remove(input.Key);
                return KvOutput.Done;
            default:
                var swapped = string.Equals(current, input.Expected, StringComparison.Ordinal);
                if (swapped)
                {
                    _data[input.Key] = input.Value!;
                }

                return KvOutput.Swapped(swapped);
        }
    }
}
