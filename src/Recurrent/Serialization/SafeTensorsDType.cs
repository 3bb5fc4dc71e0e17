using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Recurrent;

/// <summary>The element types <see cref="SafeTensors"/> can load; every one is converted to <see cref="float"/>, as PyTorch's
/// <c>tensor.float()</c> does.</summary>
internal enum SafeTensorsDType
{
    /// <summary>IEEE 754 binary32, copied as is.</summary>
    F32,

    /// <summary>IEEE 754 binary16, widened exactly through <see cref="Half"/>.</summary>
    F16,

    /// <summary>bfloat16: the upper 16 bits of a binary32, widened exactly.</summary>
    BF16,

    /// <summary>IEEE 754 binary64, narrowed with round-to-nearest-even.</summary>
    F64,

    /// <summary>One byte, 0 for false, anything else true: 0 or 1.</summary>
    Bool,

    /// <summary>Unsigned 8-bit integer, exact.</summary>
    U8,

    /// <summary>Signed 8-bit integer, exact.</summary>
    I8,

    /// <summary>Unsigned 16-bit integer, exact.</summary>
    U16,

    /// <summary>Signed 16-bit integer, exact.</summary>
    I16,

    /// <summary>Unsigned 32-bit integer, rounded to nearest, ties to even, above 2^24.</summary>
    U32,

    /// <summary>Signed 32-bit integer, rounded likewise.</summary>
    I32,

    /// <summary>Unsigned 64-bit integer, rounded likewise (once, not through double).</summary>
    U64,

    /// <summary>Signed 64-bit integer, rounded likewise.</summary>
    I64,
}

/// <summary>Dtype names, sizes and little-endian decoding to <see cref="float"/>.</summary>
internal static class SafeTensorsDTypes
{
    /// <summary>Every dtype name the SafeTensors specification defines, so unsupported ones get a precise message.</summary>
    private static readonly HashSet<string> s_specifiedNames = new(StringComparer.Ordinal)
    {
        "BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "I16", "U16", "F16", "BF16",
        "I32", "U32", "F32", "C64", "F64", "I64", "U64",
    };

    /// <summary>The dtypes that load, for error messages.</summary>
    private const string Loadable = "F32, F16, BF16, F64, BOOL and the 8- to 64-bit integers";

    /// <summary>Parses <paramref name="name"/>, the dtype of tensor <paramref name="tensorName"/>. Integer and boolean
    /// tensors load too (as PyTorch's <c>tensor.float()</c> converts them): a larger model's state dict holds such buffers
    /// (a BatchNorm's <c>num_batches_tracked</c> is int64), and the whole file must load before a prefix selects the
    /// recurrent layer's entries.</summary>
    /// <exception cref="SafeTensorsFormatException">The dtype is unknown, or one we do not convert (the 4-, 6- and 8-bit
    /// floats, complex).</exception>
    public static SafeTensorsDType Parse(string name, string tensorName) => name switch
    {
        "F32" => SafeTensorsDType.F32,
        "F16" => SafeTensorsDType.F16,
        "BF16" => SafeTensorsDType.BF16,
        "F64" => SafeTensorsDType.F64,
        "BOOL" => SafeTensorsDType.Bool,
        "U8" => SafeTensorsDType.U8,
        "I8" => SafeTensorsDType.I8,
        "U16" => SafeTensorsDType.U16,
        "I16" => SafeTensorsDType.I16,
        "U32" => SafeTensorsDType.U32,
        "I32" => SafeTensorsDType.I32,
        "U64" => SafeTensorsDType.U64,
        "I64" => SafeTensorsDType.I64,
        _ when s_specifiedNames.Contains(name) => throw new SafeTensorsFormatException(
            $"Tensor '{tensorName}' has dtype '{name}', which is not supported: {Loadable} tensors can be loaded as float32."),
        _ => throw new SafeTensorsFormatException(
            $"Tensor '{tensorName}' has unknown dtype '{name}'; supported dtypes are {Loadable}."),
    };

    /// <summary>The size in bytes of one element of <paramref name="dtype"/>.</summary>
    public static int SizeOf(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F32 or SafeTensorsDType.U32 or SafeTensorsDType.I32 => 4,
        SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.U16 or SafeTensorsDType.I16 => 2,
        SafeTensorsDType.F64 or SafeTensorsDType.U64 or SafeTensorsDType.I64 => 8,
        SafeTensorsDType.Bool or SafeTensorsDType.U8 or SafeTensorsDType.I8 => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>
    /// Decodes little-endian elements of <paramref name="dtype"/> from <paramref name="source"/> into
    /// <paramref name="destination"/>; <c>source.Length</c> must equal <c>destination.Length * SizeOf(dtype)</c>.
    /// </summary>
    public static void Decode(SafeTensorsDType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        if (source.Length != (long)destination.Length * SizeOf(dtype))
        {
            throw new ArgumentException("Source and destination sizes do not match.", nameof(source));
        }

        switch (dtype)
        {
            case SafeTensorsDType.F32 when BitConverter.IsLittleEndian:
                source.CopyTo(MemoryMarshal.AsBytes(destination));
                break;
            case SafeTensorsDType.F32:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = BinaryPrimitives.ReadSingleLittleEndian(source[(4 * i)..]);
                }

                break;
            case SafeTensorsDType.F16:
                for (int i = 0; i < destination.Length; i++)
                {
                    destination[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(source[(2 * i)..]);
                }

                break;
            case SafeTensorsDType.BF16:
                for (int i = 0; i < destination.Length; i++)
                {
                    int upperBits = BinaryPrimitives.ReadUInt16LittleEndian(source[(2 * i)..]);
                    destination[i] = BitConverter.Int32BitsToSingle(upperBits << 16);
                }

                break;
            case SafeTensorsDType.F64:
                for (int i = 0; i < destination.Length; i++)
                {
                    // An explicit double-to-float conversion rounds to nearest, ties to even.
                    destination[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(source[(8 * i)..]);
                }

                break;
            default:
                DecodeInteger(dtype, source, destination);
                break;
        }
    }

    /// <summary>Integer and boolean elements to the nearest float (ties to even), each rounded once.</summary>
    private static void DecodeInteger(SafeTensorsDType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = dtype switch
            {
                SafeTensorsDType.Bool => source[i] != 0 ? 1f : 0f,
                SafeTensorsDType.U8 => source[i],
                SafeTensorsDType.I8 => (sbyte)source[i],
                SafeTensorsDType.U16 => BinaryPrimitives.ReadUInt16LittleEndian(source[(2 * i)..]),
                SafeTensorsDType.I16 => BinaryPrimitives.ReadInt16LittleEndian(source[(2 * i)..]),
                SafeTensorsDType.U32 => (float)(long)BinaryPrimitives.ReadUInt32LittleEndian(source[(4 * i)..]),
                SafeTensorsDType.I32 => BinaryPrimitives.ReadInt32LittleEndian(source[(4 * i)..]),
                SafeTensorsDType.U64 => UInt64ToSingle(BinaryPrimitives.ReadUInt64LittleEndian(source[(8 * i)..])),
                SafeTensorsDType.I64 => BinaryPrimitives.ReadInt64LittleEndian(source[(8 * i)..]),
                _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
            };
        }
    }

    /// <summary>
    /// <paramref name="value"/> to the nearest float, ties to even, in one rounding. Above long.MaxValue it is halved with
    /// its lowest bit kept as a sticky bit (which decides no tie wrongly: the float's precision is far coarser than that
    /// bit) and converted as a long, then doubled, which is exact. Through double instead, 2^63 + 2^39 + 1 would round
    /// twice, to 2^63 + 2^39 and then, a tie, to 2^63 rather than 2^63 + 2^40.
    /// </summary>
    private static float UInt64ToSingle(ulong value) =>
        value <= long.MaxValue ? (long)value : 2f * (long)((value >> 1) | (value & 1));
}
