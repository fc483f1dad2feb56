using System.Buffers.Binary;
using Trireme.Raft.Core;

namespace Trireme.Store.Raft;

/// <summary>
/// Trireme's compact binary encoding of Raft messages between members (frozen by a test; version byte
/// first so a later format can coexist). Little-endian:
/// <code>
/// [u8 version=1][u8 type][u64 from][u64 to][u64 term][u64 logTerm][u64 index][u64 commit]
/// [u8 flags: 1=reject 2=snapshot][u64 rejectHint][u32 contextLen][context]
/// [u32 entryCount] { [u64 term][u64 index][u8 entryType][u32 len][data] }*
/// if snapshot: [u64 index][u64 term][u32 voters][u64]* [u32 learners][u64]* [u32 len][data]
/// </code>
/// Decoding is a typed rejection: malformed peer input returns false, never throws. A decoded message
/// owns its bytes: entry payloads, context and snapshot data are copied out of the input, so the input
/// may be a pooled receive buffer, and a log entry does not keep a whole (often large-object-heap)
/// frame alive until compaction.
/// </summary>
public static class RaftWireCodec
{
    public const byte Version = 1;
    private const int FixedBytes = 2 + (6 * 8) + 1 + 8 + 4 + 4;
    private const int EntryHeaderBytes = 8 + 8 + 1 + 4;

    public static byte[] Encode(Message m)
    {
        var size = FixedBytes + m.Context.Length;
        foreach (var e in m.Entries)
        {
            size += EntryHeaderBytes + e.Data.Length;
        }

        if (m.Snapshot is { } s)
        {
            size += 16 + 4 + (8 * s.Metadata.ConfState.Voters.Count) + 4 + (8 * s.Metadata.ConfState.Learners.Count) + 4 + s.Data.Length;
        }

        var bytes = new byte[size];
        var w = new Writer(bytes);
        w.U8(Version);
        w.U8((byte)m.Type);
        w.U64(m.From);
        w.U64(m.To);
        w.U64(m.Term);
        w.U64(m.LogTerm);
        w.U64(m.Index);
        w.U64(m.Commit);
        w.U8((byte)((m.Reject ? 1 : 0) | (m.Snapshot is null ? 0 : 2)));
        w.U64(m.RejectHint);
        w.Bytes(m.Context.Span);
        w.U32((uint)m.Entries.Count);
        foreach (var e in m.Entries)
        {
            w.U64(e.Term);
            w.U64(e.Index);
            w.U8((byte)e.Type);
            w.Bytes(e.Data.Span);
        }

        if (m.Snapshot is { } snap)
        {
            w.U64(snap.Metadata.Index);
            w.U64(snap.Metadata.Term);
            w.Ids(snap.Metadata.ConfState.Voters);
            w.Ids(snap.Metadata.ConfState.Learners);
            w.Bytes(snap.Data.Span);
        }

        return bytes;
    }

    public static bool TryDecode(ReadOnlyMemory<byte> input, out Message message)
    {
        message = null!;
        var r = new Reader(input);
        if (!r.U8(out var version) || version != Version || !r.U8(out var type) ||
            type is < (byte)MessageType.Append or > (byte)MessageType.TransferLeader ||
            !r.U64(out var from) || !r.U64(out var to) || !r.U64(out var term) || !r.U64(out var logTerm) ||
            !r.U64(out var index) || !r.U64(out var commit) || !r.U8(out var flags) || !r.U64(out var rejectHint) ||
            !r.Bytes(out var context) || !r.U32(out var count) || count > (uint)input.Length / EntryHeaderBytes)
        {
            return false;
        }

        var entries = new Entry[count];
        for (var i = 0; i < count; i++)
        {
            if (!r.U64(out var et) || !r.U64(out var ei) || !r.U8(out var ety) || ety > (byte)EntryType.ConfChange ||
                !r.Bytes(out var data))
            {
                return false;
            }

            entries[i] = new Entry(et, ei, (EntryType)ety, data);
        }

        Snapshot? snapshot = null;
        if ((flags & 2) != 0)
        {
            if (!r.U64(out var si) || !r.U64(out var st) || !r.Ids(out var voters) || !r.Ids(out var learners) ||
                !r.Bytes(out var sdata))
            {
                return false;
            }

            snapshot = new Snapshot(new SnapshotMetadata(si, st, new ConfState(voters, learners)), sdata);
        }

        if (!r.AtEnd || (flags & ~3) != 0)
        {
            return false;
        }

        message = new Message
        {
            Type = (MessageType)type, From = from, To = to, Term = term, LogTerm = logTerm, Index = index,
            Commit = commit, Reject = (flags & 1) != 0, RejectHint = rejectHint, Context = context,
            Entries = entries, Snapshot = snapshot,
        };
        return true;
    }

    private ref struct Writer(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;
        private int _at;

        public void U8(byte v) => _buffer[_at++] = v;

        public void U32(uint v)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer[_at..], v);
            _at += 4;
        }

        public void U64(ulong v)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_buffer[_at..], v);
            _at += 8;
        }

        public void Bytes(ReadOnlySpan<byte> v)
        {
            U32((uint)v.Length);
            v.CopyTo(_buffer[_at..]);
            _at += v.Length;
        }

        public void Ids(IReadOnlyList<ulong> ids)
        {
            U32((uint)ids.Count);
            foreach (var id in ids)
            {
                U64(id);
            }
        }
    }

    private struct Reader(ReadOnlyMemory<byte> input)
    {
        private readonly ReadOnlyMemory<byte> _input = input;
        private int _at;

        public readonly bool AtEnd => _at == _input.Length;

        public bool U8(out byte v)
        {
            v = 0;
            if (_input.Length - _at < 1)
            {
                return false;
            }

            v = _input.Span[_at++];
            return true;
        }

        public bool U32(out uint v)
        {
            v = 0;
            if (_input.Length - _at < 4)
            {
                return false;
            }

            v = BinaryPrimitives.ReadUInt32LittleEndian(_input.Span[_at..]);
            _at += 4;
            return true;
        }

        public bool U64(out ulong v)
        {
            v = 0;
            if (_input.Length - _at < 8)
            {
                return false;
            }

            v = BinaryPrimitives.ReadUInt64LittleEndian(_input.Span[_at..]);
            _at += 8;
            return true;
        }

        public bool Bytes(out ReadOnlyMemory<byte> v)
        {
            v = default;
            if (!U32(out var length) || length > (uint)(_input.Length - _at))
            {
                return false;
            }

            v = length == 0 ? ReadOnlyMemory<byte>.Empty : _input.Slice(_at, (int)length).ToArray();
            _at += (int)length;
            return true;
        }

        public bool Ids(out ulong[] ids)
        {
            ids = [];
            if (!U32(out var count) || count > (uint)(_input.Length - _at) / 8)
            {
                return false;
            }

            ids = new ulong[count];
            for (var i = 0; i < count; i++)
            {
                U64(out ids[i]);
            }

            return true;
        }
    }
}
