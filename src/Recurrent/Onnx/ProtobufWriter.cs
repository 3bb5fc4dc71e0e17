using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Recurrent.Onnx;

/// <summary>
/// A minimal protocol-buffers (proto3 wire format) encoder: just what ONNX's ModelProto needs, so the library takes no
/// protobuf dependency. Fields are appended in call order; a nested message is encoded into its own writer first and
/// then copied in as a length-delimited field, so its length is always known when the prefix is written.
/// </summary>
/// <remarks>
/// Invariants: every field starts with a tag (field number &lt;&lt; 3 | wire type); integers are base-128 varints,
/// least significant group first; a negative int64 is written as its two's-complement uint64 (10 bytes), as protoc
/// does; floats are 4 little-endian bytes (fixed32); strings are UTF-8 without terminator. Output depends only on the
/// calls made, so equal calls give identical bytes.
/// </remarks>
internal sealed class ProtobufWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    /// <summary>Wire types of the protobuf encoding (the low 3 bits of a tag).</summary>
    public enum WireType
    {
        Varint = 0,
        Fixed64 = 1,
        LengthDelimited = 2,
        Fixed32 = 5,
    }

    /// <summary>Bytes written so far.</summary>
    public int Length => _buffer.WrittenCount;

    /// <summary>A copy of the bytes written so far.</summary>
    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    /// <summary>Appends <paramref name="value"/> as a base-128 varint (1 to 10 bytes).</summary>
    public void WriteVarint(ulong value)
    {
        Span<byte> bytes = _buffer.GetSpan(10);
        int count = 0;
        while (value >= 0x80)
        {
            bytes[count++] = (byte)(value | 0x80);
            value >>= 7;
        }

        bytes[count++] = (byte)value;
        _buffer.Advance(count);
    }

    /// <summary>Appends the tag of field <paramref name="field"/> (positive) with <paramref name="wireType"/>.</summary>
    public void WriteTag(int field, WireType wireType)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(field, 1);
        WriteVarint(((ulong)(uint)field << 3) | (uint)wireType);
    }

    /// <summary>An int64 / int32 / enum / bool field: tag, then the value as a varint.</summary>
    public void WriteInt64(int field, long value)
    {
        WriteTag(field, WireType.Varint);
        WriteVarint(unchecked((ulong)value));
    }

    /// <summary>A float field: tag, then 4 little-endian bytes.</summary>
    public void WriteFloat(int field, float value)
    {
        WriteTag(field, WireType.Fixed32);
        BinaryPrimitives.WriteSingleLittleEndian(_buffer.GetSpan(4), value);
        _buffer.Advance(4);
    }

    /// <summary>A bytes field: tag, length, then the bytes.</summary>
    public void WriteBytes(int field, ReadOnlySpan<byte> value)
    {
        WriteTag(field, WireType.LengthDelimited);
        WriteVarint((ulong)value.Length);
        _buffer.Write(value);
    }

    /// <summary>A string field: tag, byte length, then the UTF-8 bytes.</summary>
    public void WriteString(int field, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        WriteBytes(field, Encoding.UTF8.GetBytes(value));
    }

    /// <summary>An embedded message field: tag, length, then the bytes already written to <paramref name="message"/>.</summary>
    public void WriteMessage(int field, ProtobufWriter message)
    {
        ArgumentNullException.ThrowIfNull(message);
        WriteBytes(field, message._buffer.WrittenSpan);
    }

    /// <summary>A packed repeated int64 field: one tag, the payload length, then every value as a varint.</summary>
    public void WritePackedInt64(int field, ReadOnlySpan<long> values)
    {
        var payload = new ProtobufWriter();
        foreach (long value in values)
        {
            payload.WriteVarint(unchecked((ulong)value));
        }

        WriteMessage(field, payload);
    }
}
