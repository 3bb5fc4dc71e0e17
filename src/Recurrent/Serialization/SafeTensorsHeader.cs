using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Text.Unicode;

namespace Recurrent;

/// <summary>
/// A SafeTensors header validated against the real input length, following the reference implementation's rules.
/// Invariants once constructed: <see cref="Entries"/> are sorted by begin offset and cover the data buffer
/// <c>[0, DataLength)</c> exactly, without overlap or holes; every entry is loadable as <c>float[]</c>.
/// No size claimed by the input is used to allocate anything before it has been checked against the input length.
/// </summary>
internal sealed class SafeTensorsHeader
{
    /// <summary>Size of the little-endian u64 header-length prefix.</summary>
    public const int PrefixLength = 8;

    /// <summary>Largest header accepted, as in the reference implementation.</summary>
    public const long MaxHeaderLength = 100_000_000;

    private SafeTensorsHeader(List<SafeTensorsEntry> entries, IReadOnlyDictionary<string, string> metadata, long dataLength)
    {
        Entries = entries;
        Metadata = metadata;
        DataLength = dataLength;
    }

    /// <summary>The tensors, in the order their data appear in the buffer.</summary>
    public IReadOnlyList<SafeTensorsEntry> Entries { get; }

    /// <summary>The <c>__metadata__</c> map; empty when the header has none.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Length of the data buffer that follows the header.</summary>
    public long DataLength { get; }

    /// <summary>
    /// Decodes and checks the header length from <paramref name="prefix"/>, the first
    /// <c>min(8, inputLength)</c> bytes of an input that is <paramref name="inputLength"/> bytes long.
    /// </summary>
    /// <returns>A header length N with 2 &lt;= N &lt;= 100,000,000 and 8 + N &lt;= inputLength.</returns>
    public static int ReadHeaderLength(ReadOnlySpan<byte> prefix, long inputLength)
    {
        if (inputLength < PrefixLength)
        {
            throw new SafeTensorsFormatException(
                $"The input is {inputLength} bytes long, shorter than the {PrefixLength}-byte header-length prefix.");
        }

        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (length < 2)
        {
            throw new SafeTensorsFormatException($"The header length is {length} bytes; the smallest header, '{{}}', has 2.");
        }

        if (length > MaxHeaderLength)
        {
            throw new SafeTensorsFormatException(
                $"The header length {length} bytes exceeds the {MaxHeaderLength}-byte limit (input is {inputLength} bytes).");
        }

        if ((long)length > inputLength - PrefixLength)
        {
            throw new SafeTensorsFormatException(
                $"The header length {length} bytes runs past the end of the input: only {inputLength - PrefixLength} " +
                $"bytes follow the prefix (input is {inputLength} bytes).");
        }

        return (int)length;
    }

    /// <summary>
    /// Parses and validates <paramref name="json"/>, the header of an input <paramref name="inputLength"/> bytes long
    /// whose data buffer is everything after the header.
    /// </summary>
    /// <exception cref="SafeTensorsFormatException">The header is malformed or inconsistent with the input.</exception>
    public static SafeTensorsHeader Parse(ReadOnlySpan<byte> json, long inputLength)
    {
        long dataLength = inputLength - PrefixLength - json.Length;
        if (!Utf8.IsValid(json))
        {
            throw new SafeTensorsFormatException("The header is not valid UTF-8.");
        }

        if (json[0] != (byte)'{')
        {
            throw new SafeTensorsFormatException(
                $"The header must be a JSON object starting with '{{', but starts with '{(char)json[0]}'.");
        }

        var (rawEntries, metadata) = SafeTensorsHeaderJson.Parse(json);
        var entries = new List<SafeTensorsEntry>(rawEntries.Count);
        foreach (var raw in rawEntries)
        {
            entries.Add(ValidateEntry(raw, dataLength, inputLength));
        }

        // Sort by (begin, end); the stable sort keeps header order among empty tensors at the same offset.
        var ordered = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        CheckExactCoverage(ordered, dataLength);
        var readOnlyMetadata = metadata.Count == 0
            ? ReadOnlyDictionary<string, string>.Empty
            : new ReadOnlyDictionary<string, string>(metadata);
        return new SafeTensorsHeader(ordered, readOnlyMetadata, dataLength);
    }

    private static SafeTensorsEntry ValidateEntry(SafeTensorsRawEntry raw, long dataLength, long inputLength)
    {
        string name = raw.Name;
        var dtype = SafeTensorsDTypes.Parse(raw.DType, name);
        if (raw.Begin > raw.End)
        {
            throw new SafeTensorsFormatException(
                $"Tensor '{name}' has data_offsets [{raw.Begin}, {raw.End}] whose end is before its begin.");
        }

        if (raw.End > (ulong)dataLength)
        {
            throw new SafeTensorsFormatException(
                $"Tensor '{name}' has data_offsets [{raw.Begin}, {raw.End}] past the end of the {dataLength}-byte data " +
                $"buffer (input is {inputLength} bytes; the data may be truncated).");
        }

        string shapeText = $"[{string.Join(", ", raw.Shape)}]";
        long elementCount = 1;
        foreach (long dimension in raw.Shape)
        {
            // Both factors are non-negative, so overflow is the only failure.
            if (dimension != 0 && elementCount > long.MaxValue / dimension)
            {
                throw new SafeTensorsFormatException(
                    $"Tensor '{name}' has shape {shapeText} whose element count overflows a 64-bit integer.");
            }

            elementCount *= dimension;
        }

        int elementSize = SafeTensorsDTypes.SizeOf(dtype);
        long byteCount = elementCount <= long.MaxValue / elementSize ? elementCount * elementSize : -1;
        if (byteCount != (long)(raw.End - raw.Begin))
        {
            string expected = byteCount < 0 ? "more than 2^63" : byteCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new SafeTensorsFormatException(
                $"Tensor '{name}' ({raw.DType}, shape {shapeText}) needs {expected} bytes, but its data_offsets " +
                $"[{raw.Begin}, {raw.End}] span {raw.End - raw.Begin} bytes.");
        }

        // Unreachable for real inputs below ~8 GB; a float[] cannot hold more elements than this.
        if (elementCount > Array.MaxLength)
        {
            throw new SafeTensorsFormatException(
                $"Tensor '{name}' has {elementCount} elements, more than a .NET array can hold ({Array.MaxLength}).");
        }

        return new SafeTensorsEntry(name, dtype, raw.Shape, (int)elementCount, (long)raw.Begin, (long)raw.End);
    }

    /// <summary>Checks that the sorted ranges tile <c>[0, dataLength)</c>, as the reference implementation requires.</summary>
    private static void CheckExactCoverage(List<SafeTensorsEntry> ordered, long dataLength)
    {
        long covered = 0;
        SafeTensorsEntry? previous = null;
        foreach (var entry in ordered)
        {
            if (entry.Begin < covered)
            {
                throw new SafeTensorsFormatException(
                    $"Tensor '{entry.Name}' data [{entry.Begin}, {entry.End}) overlaps tensor '{previous!.Name}' data " +
                    $"[{previous.Begin}, {previous.End}).");
            }

            if (entry.Begin > covered)
            {
                throw new SafeTensorsFormatException(
                    $"The data buffer has a hole of {entry.Begin - covered} bytes at [{covered}, {entry.Begin}) before " +
                    $"tensor '{entry.Name}'; tensor data must cover the buffer exactly.");
            }

            covered = entry.End;
            if (entry.End > entry.Begin)
            {
                previous = entry;
            }
        }

        if (covered != dataLength)
        {
            throw new SafeTensorsFormatException(
                $"Tensors cover only the first {covered} bytes of the {dataLength}-byte data buffer; the " +
                $"{dataLength - covered} bytes at [{covered}, {dataLength}) belong to no tensor.");
        }
    }
}
