namespace Recurrent.Kernels;

/// <summary>
/// bfloat16: the upper 16 bits of a float (sign, the 8 exponent bits, 7 mantissa bits). Widening is exact (the bits
/// shifted back up); narrowing rounds as PyTorch's <c>c10::BFloat16</c> does.
/// </summary>
internal static class BFloat16
{
    /// <summary>The bits PyTorch gives every NaN.</summary>
    private const ushort QuietNaN = 0x7FC0;

    /// <summary>The nearest bfloat16, ties to even (a float beyond the largest bfloat16 rounds to ±∞); NaN → NaN.</summary>
    public static ushort Round(float value)
    {
        if (float.IsNaN(value))
        {
            return QuietNaN;
        }

        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint tiesToEven = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + tiesToEven) >> 16);
    }

    /// <summary>The float with these upper 16 bits: exact.</summary>
    public static float Widen(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary><paramref name="value"/> rounded to a bfloat16 and widened back.</summary>
    public static float RoundToFloat(float value) => Widen(Round(value));
}
