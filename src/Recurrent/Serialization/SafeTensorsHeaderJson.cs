using System.Text;
using System.Text.Json;

namespace Recurrent;

/// <summary>A tensor's header fields as written, before any check against dtype sizes or the data buffer.</summary>
internal readonly record struct SafeTensorsRawEntry(string Name, string DType, long[] Shape, ulong Begin, ulong End);

/// <summary>
/// Reads the JSON of a SafeTensors header into raw entries and the <c>__metadata__</c> map, checking only JSON syntax,
/// field presence and field types. Allocation is bounded by the header's real size.
/// </summary>
internal static class SafeTensorsHeaderJson
{
    /// <summary>The metadata key reserved by the format.</summary>
    public const string MetadataKey = "__metadata__";

    // Root object → tensor object → shape array is depth 3; the slack admits small unknown fields, which are ignored.
    private const int MaxDepth = 8;

    /// <summary>Parses <paramref name="json"/>, which must be valid UTF-8 and start with <c>{</c>.</summary>
    /// <exception cref="SafeTensorsFormatException">The JSON is malformed or has unexpected fields or types.</exception>
    public static (List<SafeTensorsRawEntry> Entries, Dictionary<string, string> Metadata) Parse(ReadOnlySpan<byte> json)
    {
        var entries = new List<SafeTensorsRawEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = MaxDepth });
        try
        {
            Expect(reader.Read() && reader.TokenType == JsonTokenType.StartObject, "The header must be a JSON object.");
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                Expect(names.Add(name), $"The header names '{name}' more than once.");
                reader.Read();
                if (name == MetadataKey)
                {
                    ReadMetadata(ref reader, metadata);
                }
                else
                {
                    entries.Add(ReadEntry(ref reader, name));
                }
            }

            // The loop ends on the root's EndObject; any further token (other than whitespace) is an error.
            Expect(!reader.Read(), "The header has content after its JSON object.");
        }
        catch (JsonException e)
        {
            throw new SafeTensorsFormatException($"The header is not valid JSON: {e.Message}", e);
        }
        catch (InvalidOperationException e)
        {
            // Utf8JsonReader.GetString on a string whose escapes do not make valid UTF-16 (a lone surrogate, "\ud800").
            throw new SafeTensorsFormatException($"The header holds a string that is not valid text: {e.Message}", e);
        }

        return (entries, metadata);
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        Expect(reader.TokenType == JsonTokenType.StartObject, $"'{MetadataKey}' must be a JSON object of strings.");
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            reader.Read();
            Expect(reader.TokenType == JsonTokenType.String, $"'{MetadataKey}' value for key '{key}' must be a string.");
            Expect(metadata.TryAdd(key, reader.GetString()!), $"'{MetadataKey}' names key '{key}' more than once.");
        }
    }

    private static SafeTensorsRawEntry ReadEntry(ref Utf8JsonReader reader, string name)
    {
        Expect(reader.TokenType == JsonTokenType.StartObject,
            $"The header entry for tensor '{name}' must be a JSON object with dtype, shape and data_offsets.");
        string? dtype = null;
        long[]? shape = null;
        ulong[]? offsets = null;
        var fields = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string field = reader.GetString()!;
            Expect(fields.Add(field), $"Tensor '{name}' has field '{field}' more than once.");
            reader.Read();
            switch (field)
            {
                case "dtype":
                    Expect(reader.TokenType == JsonTokenType.String, $"Tensor '{name}': 'dtype' must be a string.");
                    dtype = reader.GetString()!;
                    break;
                case "shape":
                    shape = ReadIntegers(ref reader, name, field, long.MaxValue, static v => (long)v);
                    break;
                case "data_offsets":
                    offsets = ReadIntegers(ref reader, name, field, ulong.MaxValue, static v => v);
                    Expect(offsets.Length == 2,
                        $"Tensor '{name}': 'data_offsets' must hold exactly 2 integers [begin, end], not {offsets.Length}.");
                    break;
                default:
                    reader.Skip(); // Unknown fields are ignored, as the reference implementation does.
                    break;
            }
        }

        Expect(dtype is not null, $"Tensor '{name}' is missing 'dtype'.");
        Expect(shape is not null, $"Tensor '{name}' is missing 'shape'.");
        Expect(offsets is not null, $"Tensor '{name}' is missing 'data_offsets'.");
        return new SafeTensorsRawEntry(name, dtype!, shape!, offsets![0], offsets[1]);
    }

    /// <summary>Reads a JSON array of integers in [0, <paramref name="max"/>].</summary>
    private static T[] ReadIntegers<T>(ref Utf8JsonReader reader, string name, string field, ulong max, Func<ulong, T> convert)
    {
        Expect(reader.TokenType == JsonTokenType.StartArray, $"Tensor '{name}': '{field}' must be an array of integers.");
        var values = new List<T>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            Expect(reader.TokenType == JsonTokenType.Number,
                $"Tensor '{name}': '{field}' must be an array of integers, but entry {values.Count} is a {reader.TokenType}.");
            if (reader.ValueSpan[0] == (byte)'-')
            {
                throw new SafeTensorsFormatException(
                    $"Tensor '{name}': '{field}' entry {values.Count} is negative ({Encoding.UTF8.GetString(reader.ValueSpan)}).");
            }

            if (!reader.TryGetUInt64(out ulong value) || value > max)
            {
                throw new SafeTensorsFormatException(
                    $"Tensor '{name}': '{field}' entry {values.Count} ({Encoding.UTF8.GetString(reader.ValueSpan)}) " +
                    $"is not an integer in [0, {max}].");
            }

            values.Add(convert(value));
        }

        return [.. values];
    }

    private static void Expect(bool condition, string message)
    {
        if (!condition)
        {
            throw new SafeTensorsFormatException(message);
        }
    }
}
