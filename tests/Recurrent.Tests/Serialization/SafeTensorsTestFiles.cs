using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Text;

namespace Recurrent.Tests.Serialization;

/// <summary>Builds SafeTensors bytes by hand and loads them through every entry point.</summary>
internal static class SafeTensorsTestFiles
{
    /// <summary>An 8-byte little-endian length prefix, the header text as given, then the data.</summary>
    public static byte[] Build(string headerJson, params byte[] data) => BuildRaw(Encoding.UTF8.GetBytes(headerJson), data);

    /// <summary>Like <see cref="Build"/>, with the header padded with spaces to a multiple of 8 as Python does.</summary>
    public static byte[] BuildPadded(string headerJson, params byte[] data)
    {
        int padding = (8 - (Encoding.UTF8.GetByteCount(headerJson) % 8)) % 8;
        return Build(headerJson + new string(' ', padding), data);
    }

    public static byte[] BuildRaw(byte[] header, byte[] data) =>
        [.. Prefix((ulong)header.Length), .. header, .. data];

    public static byte[] Prefix(ulong headerLength)
    {
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, headerLength);
        return prefix;
    }

    public static byte[] Floats(params float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        }

        return bytes;
    }

    public static byte[] UInt16s(params ushort[] values)
    {
        var bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), values[i]);
        }

        return bytes;
    }

    public static byte[] UInt64s(params ulong[] values)
    {
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(8 * i), values[i]);
        }

        return bytes;
    }

    /// <summary>Loads <paramref name="bytes"/> from a span, a seekable stream, a non-seekable stream and a file, and
    /// asserts all four agree; returns the span result.</summary>
    public static StateDict LoadEveryWay(byte[] bytes, out IReadOnlyDictionary<string, string> metadata)
    {
        var fromSpan = SafeTensors.Load(bytes.AsSpan(), out metadata);
        var fromSeekable = SafeTensors.Load(new MemoryStream(bytes), out var seekableMetadata);
        var fromNonSeekable = SafeTensors.Load(new NonSeekableStream(bytes), out var nonSeekableMetadata);
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, bytes);
            var fromFile = SafeTensors.Load(path, out var fileMetadata);
            AssertBitExact(fromSpan, fromFile);
            Assert.Equal(metadata, fileMetadata);
        }
        finally
        {
            File.Delete(path);
        }

        AssertBitExact(fromSpan, fromSeekable);
        AssertBitExact(fromSpan, fromNonSeekable);
        Assert.Equal(metadata, seekableMetadata);
        Assert.Equal(metadata, nonSeekableMetadata);
        return fromSpan;
    }

    public static StateDict LoadEveryWay(byte[] bytes) => LoadEveryWay(bytes, out _);

    /// <summary>Asserts that span, seekable-stream and non-seekable-stream loading all reject
    /// <paramref name="bytes"/> with a message containing <paramref name="expectedMessagePart"/>.</summary>
    public static void AssertRejected(byte[] bytes, string expectedMessagePart)
    {
        var errors = new[]
        {
            Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(bytes.AsSpan())),
            Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(new MemoryStream(bytes))),
            Assert.Throws<SafeTensorsFormatException>(() => SafeTensors.Load(new NonSeekableStream(bytes))),
        };
        foreach (var error in errors)
        {
            Assert.Contains(expectedMessagePart, error.Message, StringComparison.Ordinal);
        }
    }

    public static float[] Values(Tensor<float> tensor)
    {
        var values = new float[tensor.FlattenedLength];
        tensor.FlattenTo(values);
        return values;
    }

    /// <summary>Same names in the same order, same shapes, and bit-identical values (NaN payloads included).</summary>
    public static void AssertBitExact(IEnumerable<KeyValuePair<string, Tensor<float>>> expected, StateDict actual)
    {
        var expectedList = expected.ToList();
        Assert.Equal(expectedList.Select(e => e.Key), actual.Keys);
        foreach (var (name, tensor) in expectedList)
        {
            Assert.Equal(tensor.Lengths.ToArray(), actual[name].Lengths.ToArray());
            Assert.Equal(Values(tensor).Select(BitConverter.SingleToInt32Bits), Values(actual[name]).Select(BitConverter.SingleToInt32Bits));
        }
    }

    /// <summary>A read-only stream that cannot seek and does not know its length, like a network stream.</summary>
    public sealed class NonSeekableStream(byte[] content) : Stream
    {
        private readonly MemoryStream _inner = new(content);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        // Return at most 3 bytes per call so that callers must handle short reads.
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 3));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
