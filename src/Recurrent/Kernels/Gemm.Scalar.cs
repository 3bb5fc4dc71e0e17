using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace Recurrent.Kernels;

// Scalar path of Gemm: the portable fallback, and the most literal reading of the definition.
//
// Layout. Same packed operands as the vector paths (packed A micro-panels of MR = 4 rows, 32-float W panel rows);
// the "tile" is a 32-float accumulator row on the stack, one output row at a time.
//
// Exactness. Each C element starts from bias / 0 / C and receives, in increasing kk, acc = A[i,kk]·W[j,kk] + acc
// as a plain multiply then add (two roundings). Deliberately not MathF.FusedMultiplyAdd: without hardware FMA
// that is a slow software routine, and this path exists for machines without SIMD. The chain is the same for every
// m, row grouping and panel range, so the path is deterministic like the others; it differs from them only by
// the extra rounding of the product. Tails: row tails are simply fewer loop iterations; column tails are handled
// by the caller's scratch tile.
internal static partial class Gemm
{
    /// <summary>MR of the scalar path.</summary>
    internal const int ScalarRowBlock = 4;

    private readonly struct ScalarKernel : IGemmKernel
    {
        public static int RowBlock => ScalarRowBlock;

        public static int RowKernelPanels(int rows, long weightBytes) => 0;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public static void Tile(int rows, ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
        {
            const int nr = PackedMatrix.PanelWidth;
            AssertRows(rows, ScalarRowBlock);
            Span<float> acc = stackalloc float[nr];
            ref float accRef = ref acc[0];
            for (int i = 0; i < rows; i++)
            {
                ref float s = ref Unsafe.Add(ref src, i * srcStride);
                for (int j = 0; j < nr; j++)
                {
                    Unsafe.Add(ref accRef, j) = Unsafe.Add(ref s, j);
                }

                for (int kk = 0; kk < kc; kk++)
                {
                    float x = Unsafe.Add(ref packedA, (i * PackedRowStride) + kk);
                    ref float wRow = ref Unsafe.Add(ref panel, kk * nr);
                    for (int j = 0; j < nr; j++)
                    {
                        Unsafe.Add(ref accRef, j) = (x * Unsafe.Add(ref wRow, j)) + Unsafe.Add(ref accRef, j);
                    }
                }

                ref float d = ref Unsafe.Add(ref dst, i * ldc);
                for (int j = 0; j < nr; j++)
                {
                    Unsafe.Add(ref d, j) = Unsafe.Add(ref accRef, j);
                }
            }
        }

        public static void RowTile(int rows, ref float a, nint lda, ref float panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
            => throw new UnreachableException(); // RowKernelPanels is 0 for every m: the blocked loops handle all.
    }
}
