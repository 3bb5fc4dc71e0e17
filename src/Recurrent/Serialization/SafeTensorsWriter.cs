using System.Buffers;
using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Recurrent;

/// <summary>
/// Writes float32 tensors in the SafeTensors format exactly as the reference writer lays it out: an 8-byte
/// little-endian header length, compact JSON padded with spaces to a multiple of 8 bytes, then the tensors' bytes
/// back to back in the given order.
/// </summary>
internal static class SafeTensorsWriter
{
    private const int ChunkFloats = 1 << 18;

    /// <summary>
    /// Copies <paramref name="tensors"/> into a list, checking for null and duplicate or reserved names, so that
    /// nothing is written when an argument is bad.
    /// </summary>
    public static List<KeyValuePair<string, Tensor<float>>> Snapshot(IEnumerable<KeyValuePair<string, Tensor<float>>> tensors)
    {
        var list = new List<KeyValuePair<string, Tensor<float>>>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, tensor) in tensors)
        {
            if (name is null || tensor is null)
            {
                throw new ArgumentException("Tensor names and tensors must not be null.", nameof(tensors));
            }

            if (name == SafeTensorsHeaderJson.MetadataKey)
            {
                throw new ArgumentException($"'{name}' is reserved by the SafeTensors format for metadata.", nameof(tensors));
            }

            if (!names.Add(name))
            {
                throw new ArgumentException($"Two tensors are named '{name}'.", nameof(tensors));
            }

            list.Add(new(name, tensor));
        }

        return list;
    }

    /// <summary>Checks <paramref name="metadata"/> for null keys and values.</summary>
    public static void CheckMetadata(IReadOnlyDictionary<string, string>? metadata)
    {
        foreach (var (key, value) in metadata ?? ReadOnlyDictionary<string, string>.Empty)
        {
            if (key is null || value is null)
            {
                throw new ArgumentException("Metadata keys and values must not be null.", nameof(metadata));
            }
        }
    }

    /// <summary>Builds the header bytes (JSON plus space padding, without the length prefix).</summary>
    public static byte[] BuildHeader(
        List<KeyValuePair<string, Tensor<float>>> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var options = new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, Indented = false };
        using (var json = new Utf8JsonWriter(buffer, options))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject(SafeTensorsHeaderJson.MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    json.WriteString(key, value);
                }

                json.WriteEndObject();
            }

            long offset = 0;
            foreach (var (name, tensor) in tensors)
            {
                long end = checked(offset + (tensor.FlattenedLength * sizeof(float)));
                json.WriteStartObject(name);
                json.WriteString("dtype", "F32");
                json.WriteStartArray("shape");
                foreach (nint length in tensor.Lengths)
                {
                    json.WriteNumberValue((long)length);
                }

                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(offset);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
                offset = end;
            }

            json.WriteEndObject();
        }

        int padding = (8 - (buffer.WrittenCount % 8)) % 8;
        buffer.GetSpan(padding)[..padding].Fill((byte)' ');
        buffer.Advance(padding);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Writes the length prefix, <paramref name="header"/> and every tensor's data.</summary>
    public static void Write(Stream stream, byte[] header, List<KeyValuePair<string, Tensor<float>>> tensors)
    {
        Span<byte> prefix = stackalloc byte[SafeTensorsHeader.PrefixLength];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        stream.Write(prefix);
        stream.Write(header);
        foreach (var (_, tensor) in tensors)
        {
            WriteValues(stream, RowMajorValues(tensor));
        }
    }

    /// <summary>The tensor's elements in logical row-major order, without a copy when the tensor is dense.</summary>
    private static ReadOnlySpan<float> RowMajorValues(Tensor<float> tensor)
    {
        int count = checked((int)tensor.FlattenedLength);
        if (count == 0)
        {
            return [];
        }

        if (tensor.IsDense)
        {
            // Dense: the elements are contiguous, in row-major order, starting at the pinnable reference.
            return MemoryMarshal.CreateReadOnlySpan(ref tensor.GetPinnableReference(), count);
        }

        var flattened = new float[count];
        tensor.FlattenTo(flattened);
        return flattened;
    }

    private static void WriteValues(Stream stream, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            for (int start = 0; start < values.Length; start += ChunkFloats)
            {
                stream.Write(MemoryMarshal.AsBytes(values.Slice(start, Math.Min(ChunkFloats, values.Length - start))));
            }

            return;
        }

        byte[] chunk = ArrayPool<byte>.Shared.Rent(ChunkFloats * sizeof(float));
        try
        {
            for (int start = 0; start < values.Length; start += ChunkFloats)
            {
                var slice = values.Slice(start, Math.Min(ChunkFloats, values.Length - start));
                for (int i = 0; i < slice.Length; i++)
                {
                    BinaryPrimitives.WriteSingleLittleEndian(chunk.AsSpan(i * sizeof(float)), slice[i]);
                }

                stream.Write(chunk, 0, slice.Length * sizeof(float));
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }
    }
}
