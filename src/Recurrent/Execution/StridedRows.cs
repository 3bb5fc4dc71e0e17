using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Execution;

/// <summary>Copies a block of rows between buffers whose rows lie at different strides (e.g. h into one direction's
/// columns of a bidirectional output).</summary>
internal static class StridedRows
{
    /// <summary>
    /// destination[n·destinationStride + j] = source[n·sourceStride + j] for n &lt; rows, j &lt; width; nothing else of
    /// destination is written. Rows of at most 16 floats go by one masked load and store each on AVX-512 (a call to
    /// memmove per row of the tutorial's 5–20 floats costs more than the copy); longer rows by span copies.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Copy(ReadOnlySpan<float> source, int sourceStride, Span<float> destination, int destinationStride, int rows, int width)
    {
        if (rows == 0 || width == 0)
        {
            return;
        }

        // The last row of each side is in range, so every row before it is.
        if ((long)(rows - 1) * sourceStride + width > source.Length)
        {
            throw new ArgumentException($"{rows} rows of {width} at stride {sourceStride} need {((long)(rows - 1) * sourceStride) + width} floats, got {source.Length}.", nameof(source));
        }

        if ((long)(rows - 1) * destinationStride + width > destination.Length)
        {
            throw new ArgumentException($"{rows} rows of {width} at stride {destinationStride} need {((long)(rows - 1) * destinationStride) + width} floats, got {destination.Length}.", nameof(destination));
        }
        if (width <= Vector512<float>.Count && Avx512F.IsSupported)
        {
            Vector512<float> mask = Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(width)).AsSingle();
            fixed (float* from = source, to = destination)
            {
                for (int n = 0; n < rows; n++)
                {
                    Avx512F.MaskStore(to + ((nint)n * destinationStride), mask, Avx512F.MaskLoad(from + ((nint)n * sourceStride), mask, Vector512<float>.Zero));
                }
            }

            return;
        }

        for (int n = 0; n < rows; n++)
        {
            source.Slice(n * sourceStride, width).CopyTo(destination.Slice(n * destinationStride, width));
        }
    }
}
