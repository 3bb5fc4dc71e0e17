using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Recurrent;

/// <summary>
/// Loads SafeTensors inputs into a <see cref="StateDict"/>. The header is fully validated against the real input
/// length before any tensor array is allocated, so every allocation is bounded by bytes that actually exist.
/// </summary>
internal static class SafeTensorsReader
{
    // Multiple of every dtype size, so a chunk never splits an element.
    private const int ChunkBytes = 1 << 20;

    /// <summary>Loads an input held entirely in memory.</summary>
    public static StateDict Read(ReadOnlySpan<byte> input, out IReadOnlyDictionary<string, string> metadata)
    {
        int headerLength = SafeTensorsHeader.ReadHeaderLength(input, input.Length);
        var header = SafeTensorsHeader.Parse(input.Slice(SafeTensorsHeader.PrefixLength, headerLength), input.Length);
        var data = input[(SafeTensorsHeader.PrefixLength + headerLength)..];
        var result = new StateDict();
        foreach (var entry in header.Entries)
        {
            var values = new float[entry.ElementCount];
            SafeTensorsDTypes.Decode(entry.DType, data[(int)entry.Begin..(int)entry.End], values);
            result.Add(entry.Name, Tensor.Create(values, entry.TensorLengths()));
        }

        metadata = header.Metadata;
        return result;
    }

    /// <summary>
    /// Loads from the current position of a seekable <paramref name="stream"/> to its end, reading each tensor
    /// straight into its array (in pooled chunks for converted dtypes); leaves the stream at its end.
    /// </summary>
    public static StateDict ReadSeekable(Stream stream, out IReadOnlyDictionary<string, string> metadata)
    {
        long inputLength = stream.Length - stream.Position;
        Span<byte> prefix = stackalloc byte[SafeTensorsHeader.PrefixLength];
        if (inputLength >= SafeTensorsHeader.PrefixLength)
        {
            ReadExactly(stream, prefix, "the header-length prefix");
        }

        // Bounded by the real input length and the 100 MB limit before it is allocated.
        var headerBytes = new byte[SafeTensorsHeader.ReadHeaderLength(prefix, inputLength)];
        ReadExactly(stream, headerBytes, "the header");
        var header = SafeTensorsHeader.Parse(headerBytes, inputLength);

        // Entries tile the data buffer in order, so reading them one after another consumes it exactly.
        var result = new StateDict();
        byte[] chunk = ArrayPool<byte>.Shared.Rent(ChunkBytes);
        try
        {
            foreach (var entry in header.Entries)
            {
                var values = new float[entry.ElementCount];
                ReadTensor(stream, entry, values, chunk);
                result.Add(entry.Name, Tensor.Create(values, entry.TensorLengths()));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        metadata = header.Metadata;
        return result;
    }

    /// <summary>Loads a stream that cannot seek by first copying its real content into memory.</summary>
    public static StateDict ReadNonSeekable(Stream stream, out IReadOnlyDictionary<string, string> metadata)
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return Read(copy.GetBuffer().AsSpan(0, checked((int)copy.Length)), out metadata);
    }

    private static void ReadTensor(Stream stream, SafeTensorsEntry entry, float[] values, byte[] chunk)
    {
        string what = $"tensor '{entry.Name}' data [{entry.Begin}, {entry.End})";
        int elementSize = SafeTensorsDTypes.SizeOf(entry.DType);
        int elementsPerChunk = ChunkBytes / elementSize;
        for (int start = 0; start < values.Length; start += elementsPerChunk)
        {
            var destination = values.AsSpan(start, Math.Min(elementsPerChunk, values.Length - start));
            if (entry.DType == SafeTensorsDType.F32 && BitConverter.IsLittleEndian)
            {
                ReadExactly(stream, MemoryMarshal.AsBytes(destination), what); // No intermediate copy.
            }
            else
            {
                var source = chunk.AsSpan(0, destination.Length * elementSize);
                ReadExactly(stream, source, what);
                SafeTensorsDTypes.Decode(entry.DType, source, destination);
            }
        }
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string what)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException e)
        {
            throw new SafeTensorsFormatException(
                $"The input ended while reading {what}, before the length the stream reported.", e);
        }
    }
}
