using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Recurrent.Kernels;

// Rows to lanes and back where AVX is not accelerated but Vector128 is (Arm64, x64 before AVX): one transposing copy for
// both directions, four source rows at a time, each destination vector built from the four rows' floats of one column
// (the runtime's Vector128.Create of four floats: inserts on x64, lane moves on Arm64) and stored whole. Only copies, so
// the same floats as the element-by-element forms; without a block shuffle it needs no instructions of one platform.
internal static partial class LaneTransposes
{
    /// <summary><see cref="ToLanes"/> on Vector128: a lane vector of four sequences per column.</summary>
    internal static void ToLanes128(ReadOnlySpan<float> rows, int rowStride, int count, int width, Span<float> lanes, int laneStride) =>
        TransposeCopy128(ref MemoryMarshal.GetReference(rows), rowStride, count, width, ref MemoryMarshal.GetReference(lanes), laneStride);

    /// <summary><see cref="FromLanes"/> on Vector128: four columns of a row per vector.</summary>
    internal static void FromLanes128(ReadOnlySpan<float> lanes, int laneStride, int count, int width, Span<float> rows, int rowStride) =>
        TransposeCopy128(ref MemoryMarshal.GetReference(lanes), laneStride, width, count, ref MemoryMarshal.GetReference(rows), rowStride);

    /// <summary>
    /// dst[c·dstStride + r] = src[r·srcStride + c] for r &lt; <paramref name="sourceRows"/>, c &lt; <paramref name="columns"/>;
    /// nothing else of dst is written. Unchecked: the caller's spans hold those elements (<see cref="ToLanes"/> and
    /// <see cref="FromLanes"/> check them).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void TransposeCopy128(ref float src, int srcStride, int sourceRows, int columns, ref float dst, int dstStride)
    {
        int r = 0;
        for (; r + 4 <= sourceRows; r += 4)
        {
            ref float s0 = ref Unsafe.Add(ref src, (nint)r * srcStride);
            ref float s1 = ref Unsafe.Add(ref s0, srcStride);
            ref float s2 = ref Unsafe.Add(ref s1, srcStride);
            ref float s3 = ref Unsafe.Add(ref s2, srcStride);
            ref float d = ref Unsafe.Add(ref dst, r);
            for (int c = 0; c < columns; c++)
            {
                Vector128.Create(Unsafe.Add(ref s0, c), Unsafe.Add(ref s1, c), Unsafe.Add(ref s2, c), Unsafe.Add(ref s3, c))
                    .StoreUnsafe(ref d, (nuint)((nint)c * dstStride));
            }
        }

        for (; r < sourceRows; r++)
        {
            ref float s = ref Unsafe.Add(ref src, (nint)r * srcStride);
            for (int c = 0; c < columns; c++)
            {
                Unsafe.Add(ref dst, ((nint)c * dstStride) + r) = Unsafe.Add(ref s, c);
            }
        }
    }
}
