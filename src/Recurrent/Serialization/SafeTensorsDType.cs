using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Recurrent;

/// <summary>The element types <see cref="SafeTensors"/> can load; every one is converted to <see cref="float"/>.</summary>
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

    /// <summary>Parses <paramref name="name"/>, the dtype of tensor <paramref name="tensorName"/>.</summary>
    /// <exception cref="SafeTensorsFormatException">The dtype is unknown or not a floating-point type we load.</exception>
    public static SafeTensorsDType Parse(string name, string tensorName) => name switch
    {
        "F32" => SafeTensorsDType.F32,
        "F16" => SafeTensorsDType.F16,
        "BF16" => SafeTensorsDType.BF16,
        "F64" => SafeTensorsDType.F64,
        _ when s_specifiedNames.Contains(name) => throw new SafeTensorsFormatException(
            $"Tensor '{tensorName}' has dtype '{name}', which is not supported: only F32, F16, BF16 and F64 tensors " +
            "can be loaded as float32."),
        _ => throw new SafeTensorsFormatException(
            $"Tensor '{tensorName}' has unknown dtype '{name}'; supported dtypes are F32, F16, BF16 and F64."),
    };

    /// <summary>The size in bytes of one element of <paramref name="dtype"/>.</summary>
    public static int SizeOf(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F32 => 4,
        SafeTensorsDType.F16 or SafeTensorsDType.BF16 => 2,
        SafeTensorsDType.F64 => 8,
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
                throw new ArgumentOutOfRangeException(nameof(dtype));
        }
    }
}
