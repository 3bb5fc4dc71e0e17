using Recurrent.Onnx;

namespace Recurrent.Tests.Onnx;

/// <summary>The hand-written protobuf encoding and gate reordering, checked against bytes worked out from the spec.</summary>
public sealed class ProtobufWriterTests
{
    [Theory]
    [InlineData(0UL, new byte[] { 0x00 })]
    [InlineData(1UL, new byte[] { 0x01 })]
    [InlineData(127UL, new byte[] { 0x7F })]
    [InlineData(128UL, new byte[] { 0x80, 0x01 })]
    [InlineData(300UL, new byte[] { 0xAC, 0x02 })]
    [InlineData(ulong.MaxValue, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 })]
    public void VarintIsLittleEndianBase128(ulong value, byte[] expected)
    {
        var writer = new ProtobufWriter();
        writer.WriteVarint(value);
        Assert.Equal(expected, writer.ToArray());
    }

    [Fact]
    public void FieldsHaveTagsAndPayloads()
    {
        var writer = new ProtobufWriter();
        writer.WriteInt64(1, 150);              // 08 96 01 (the protobuf documentation's example)
        writer.WriteString(2, "testing");       // 12 07 74 65 73 74 69 6E 67
        writer.WriteFloat(2, 1.0f);             // 15 00 00 80 3F
        writer.WriteInt64(20, 7);               // A0 01 07: field 20 needs a two-byte tag
        writer.WritePackedInt64(1, [1, 300]);   // 0A 03 01 AC 02
        Assert.Equal(
            new byte[]
            {
                0x08, 0x96, 0x01,
                0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6E, 0x67,
                0x15, 0x00, 0x00, 0x80, 0x3F,
                0xA0, 0x01, 0x07,
                0x0A, 0x03, 0x01, 0xAC, 0x02,
            },
            writer.ToArray());
    }

    [Fact]
    public void NegativeInt64IsTenBytesAndMessagesNest()
    {
        var inner = new ProtobufWriter();
        inner.WriteInt64(1, -1);
        var outer = new ProtobufWriter();
        outer.WriteMessage(3, inner);
        Assert.Equal(
            new byte[] { 0x1A, 0x0B, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 },
            outer.ToArray());
    }

    [Fact]
    public void GateChunksMoveToOnnxOrder()
    {
        // Two rows per chunk, one column: chunk c holds values 10c, 10c+1.
        float[] lstm = [0, 1, 10, 11, 20, 21, 30, 31]; // PyTorch i, f, g, o
        float[] gru = [0, 1, 10, 11, 20, 21];          // PyTorch r, z, n
        Assert.Equal([0, 1, 30, 31, 10, 11, 20, 21], OnnxRecurrentWeights.Reorder(lstm, OnnxRecurrentWeights.GateOrder(CellType.Lstm), 2)); // i, o, f, c
        Assert.Equal([10, 11, 0, 1, 20, 21], OnnxRecurrentWeights.Reorder(gru, OnnxRecurrentWeights.GateOrder(CellType.Gru), 2));           // z, r, h
    }
}
