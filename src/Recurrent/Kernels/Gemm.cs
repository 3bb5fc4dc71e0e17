using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Recurrent.Kernels;

/// <summary>
/// C = A·Wᵀ (+ bias, or + C) for a weight matrix W in PyTorch layout, packed as a <see cref="PackedMatrix"/>.
/// </summary>
/// <remarks>
/// <para>
/// Definition. For i &lt; m and j &lt; n = W.Rows:
/// <code>
///   C[i, j] = (accumulate ? C[i, j] : (bias.IsEmpty ? 0 : bias[j])) + Σ_{kk &lt; k} A[i, kk] · W[j, kk]
/// </code>
/// with A row i at <c>a[i * lda ..]</c> and C row i at <c>c[i * ldc ..]</c>. Elements of <c>c</c> outside the m × n
/// block, and elements of <c>a</c> outside the m × k block, are never touched; when <c>accumulate</c> is false C is
/// written without being read.
/// </para>
/// <para>
/// Determinism. Every path computes each C element as one sequential chain
/// <c>acc = init; for kk in 0..k-1: acc = acc + A[i,kk]·W[j,kk]</c> (one fused multiply-add per step on the vector
/// paths, multiply then add on the scalar path). Blocking only changes where the running value lives between
/// steps (a register, or C itself between K blocks — a float either way), never the order. So for a given path the
/// result depends only on the inputs: not on m, on which rows share a micro-tile, on the small-m kernels, nor on
/// the panel range — splitting a product across threads by panel ranges is bit-identical to one call.
/// Different paths differ only by rounding (FMA vs. separate multiply/add).
/// </para>
/// <para>
/// Loop structure (BLIS / matrixmultiply style; W is pre-packed, A is packed per call):
/// <code>
///   loop 4  for ic in 0..m step MC                       rows: an MC × KC block of A, packed, stays in L2
///   loop 3    for pc in 0..k step KC                     K blocks, in increasing kk (keeps the chain order)
///               pack A[ic.., pc..] row by row (rows PackedRowStride apart; MR consecutive rows = a micro-panel)
///   loop 2      for jc in panels step NC                 columns: a KC × NC block of W stays in L2
///   loop 1        for ir in 0..mc, tiles of ≤ MR rows     rows: an MR × KC micro-panel of A stays in L1
///   loop 0          for p in jc..jc+NC                   columns: one 32-wide panel's KC × 32 slice from L2, or two
///                     micro-kernel: MR × 32 tile of C in registers (MR × 64 for two panels: the "wide" tile); per kk
///                     load the 32 packed W floats of each panel once, broadcast A[i, kk] (at the constant offset
///                     i·PackedRowStride) for each of the MR rows, FMA.
///                     Initialised from bias / 0 / C on the first K block (from C when accumulating), from C on
///                     later ones; stored to C at the end of the block.
/// </code>
/// Blocking constants: <see cref="BlockK"/> = KC; MC (per path, ≈ <see cref="BlockMTarget"/> rows) targets L2 (the
/// packed MC × KC block of A is reused by every panel block); NC (≈ <see cref="BlockNBytes"/> of W) targets L2 too
/// (the KC × NC block is reused by every micro-panel of A in loop 1). A column tail (n not a multiple of 32) runs the
/// same micro-kernel with its loads and stores of C masked to the valid columns where the path can mask (Vector512 on
/// AVX-512), else on a 32-wide scratch tile (starting from a zero-padded bias, or from C copied in) whose valid columns
/// are copied out. The row tiles of an MC block are of about equal size (at most MR rows each) and use the same
/// micro-kernel instantiated for their row count.
/// </para>
/// <para>
/// Small m (the recurrent product at batch 1..4). A 1 × 32 tile has only 32/lanes independent FMA chains, which
/// makes it latency-bound; and the product is bandwidth-bound on streaming W. Paths whose row tile is short
/// (Vector512, Vector256) therefore have a "row" kernel that reads A unpacked and covers several panels at once
/// (on Vector512: 4 panels = 8 zmm chains per row for m ≤ 2, 2 panels for m = 3..4), over the whole k in one go.
/// It computes exactly the same chains.
/// Remaining panels (fewer than a group, or the partial last one) go through the blocked loops. On Vector256 a matrix
/// with column vectors (<see cref="PackedMatrix.EnsureColumnVectors"/>: each 8 columns of its full panels a stream of
/// their own, built by <see cref="PrepareColumnVectors"/> for the recurrent weights of layers run at batch 2 or more) has
/// its full panels multiplied from those instead, over the whole k, 2 to 4 rows at a time (more rows in groups of 4, 3
/// and 2, each streaming W, or above <see cref="ColumnVectorBlocksFromBytes"/> a block of 3 panels at a time). The
/// caller chooses the order in which the groups stream W (<see cref="PanelOrder"/>): a time loop alternates it step by
/// step, so that the lines of W_hh one step read last, still in L2, are the first the next step reads.
/// </para>
/// <para>
/// Threads. Later callers split the panel range (<c>firstPanel</c>, <c>panelCount</c>) across threads; each call packs
/// its own copy of A into a thread-local buffer and writes only its own columns.
/// </para>
/// <para>
/// Compact weights (<see cref="PackedMatrix.IsCompact"/>, bfloat16): the same loops run on float slices widened from
/// them, or, for small m on Vector512 and batch 1 on Vector256 and Vector128, the row kernels read them directly
/// (Gemm.Compact.cs); the result is the float product of the rounded weights, bit for bit.
/// </para>
/// </remarks>
internal static partial class Gemm
{
    /// <summary>
    /// KC, the K block. Target: L1d for the MR × KC micro-panel of packed A (6·512·4 B = 12 KiB at MR 6), reused across a
    /// block of panels in loop 0; also bounds the C store/reload traffic between K blocks. Measured (with the earlier
    /// loop order, each panel slice reused from L1) on Zen 4 (Vector512, MR 12): KC 128 → ~99–100 GFLOP/s, 256 →
    /// ~107–108, 384/512 → ~105–112 (within noise). On the Ice Lake Xeon of the later CI machines (48 KiB L1d, 1.25 MiB
    /// L2; 2026-11-28, interleaved calls) KC 64 and 96 were 10–25 % slower than 256, 128 5–10 % slower, and 512 or
    /// 1024 (whole k) the same. With the 6 × 64 wide tile, 512 against 256 (2026-11-29, two builds in one process, layers
    /// in interleaved pairs, the same bits): at 1 thread L1 1.013×, L2 1.028×, L4 1.031×, L5 1.020×, S3 1.019×, S4 1.022×,
    /// LSTM 300 and 512 at batch 8 1.024× and 1.030× as fast; at 2 threads L1 1.034×, L4 1.022×, L5 1.020×, LSTM 512 at
    /// batch 8 1.028×, S4 1.011×; layers with k ≤ 256 unchanged (L3 1.004×, S2 1.001×). 448 gave L5 1.031×, L2 1.035×.
    /// </summary>
    internal const int BlockK = 512;

    /// <summary>
    /// Target rows of the MC block (rounded down to a multiple of MR per path). Target: L2 (1–2 MiB per core):
    /// the packed MC × KC block of A (240·528·4 B = 495 KiB with its padding) is reused by every panel block of loop 2,
    /// leaving the rest of L2 for the KC × NC block of W.
    /// </summary>
    internal const int BlockMTarget = 240;

    /// <summary>
    /// Target bytes of the KC × NC block of W (NC in whole panels; 4 panels at KC = 512). Target: L2, beside the packed
    /// MC × KC block of A: each MR × KC micro-panel of A (12 KiB) is reused from L1 across the block's panels while their
    /// slices stream from L2 as sequential vector loads. Measured on the Ice Lake CI machines (2026-11-28, interleaved
    /// calls, Vector512): against one panel per block (each slice reused from L1 while A's rows are broadcast from L2),
    /// m × k × n = 1600 × 512 × 2048, 2400 × 256 × 1024, 9600 × 256 × 1024 and 1600 × 128 × 512 ran 8–15 % faster at
    /// 128–512 KiB (1 MiB was slower); products of 32–64 rows were unchanged (those measurements at KC = 256).
    /// </summary>
    internal const int BlockNBytes = 256 * 1024;

    /// <summary>
    /// From this many bytes of W in the panel range, the micro-kernels prefetch the next NC block of W into L2 while
    /// they work on the current one (<see cref="IGemmKernel.Tile"/>). Measured on the Ice Lake CI machine (2026-11-29,
    /// interleaved calls): 64 × 1024 × 4096 (16 MiB of W, the L2 shape's recurrent product) and 64 × 1760 × 1760
    /// (12 MiB, L5's) 11–13 % faster; 4 MiB unchanged, 1 MiB 2 % slower (there W stays in L2 and the prefetches are
    /// wasted work). With the wide tile, which reads twice the W bytes per FMA, 4 MiB gained too (2026-11-29, layers in
    /// interleaved pairs: L1 and L4, W_hh 4 and 3 MiB, 3–5 % faster at 2 MiB than at 8 MiB, in two runs).
    /// </summary>
    internal const long PrefetchWeightsFromBytes = 2L << 20;

    /// <summary>
    /// The shortest k for which a product of more than 4 rows runs from column vectors in groups of 4 rows (rather than
    /// through the blocked loops): below it each group's passes are too short to pay for their setup.
    /// Measured on the Zen 3 machine (2026-11-30, two builds in one process, both slot orders, old/new / new/old): LSTM
    /// 20 → 20, GRU 24 → 24 and RNN 40 → 40 at batch 16 0.984 / 1.024, 0.981 / 1.011, 0.965 / 1.049 (slower in groups);
    /// LSTM 48 → 48 at batch 12, RNN 64 at 32, GRU 100 at 8 1.023 / 0.988, 1.047 / 0.949, 1.026 / 0.959 (faster).
    /// </summary>
    internal const int ColumnVectorGroupsMinK = 48;

    /// <summary>
    /// The most float W that gets column vectors at all: they double its memory, and the largest measured (products of 2
    /// to 4 rows, 1.3–2× as fast as from the panels) held 16 MiB.
    /// </summary>
    internal const long ColumnVectorsMaxWeightBytes = 16L << 20;

    /// <summary>
    /// Up to this many bytes of W in the range, each group of rows of a product of more than 4 rows streams all the
    /// range's column vectors; above it the range runs in blocks of <see cref="ColumnVectorBlockPanels"/> panels, each
    /// block multiplied by every group while it sits in L2. Measured on the Zen 3 machine (2026-11-30, one process, the
    /// two in alternate calls, median of the pairs' ratios), whole-range groups against the blocked loops: 8 × 256 × 1024
    /// 1.13×, 32 × 128 × 512 1.11×, 32 × 256 × 1024 1.15×, 64 × 256 × 1024 1.17×, 64 × 512 × 2048 (4 MiB) 1.15× as fast;
    /// but 64 × 1760 × 1760 (12 MiB) 0.69×, 64 × 1024 × 4096 (16 MiB) 0.50× (W from memory for every group). In 3-panel
    /// blocks those two ran 1.04–1.08× and 1.06× as fast as the blocked loops (1.4× and 2.0× as fast as whole-range
    /// groups); at 4 MiB and below blocks gained nothing on whole-range groups (64 × 256 × 1024 1.00, 64 × 512 × 2048
    /// 1.02, 64 × 128 × 512 0.96; layers L1, L3, L4 at 1 and 2 threads with blocks from 512 KiB within ±3 %), and many
    /// rows lost (9600 × 256 × 1024 0.66: A is re-read for every block). Layers, two builds in one process, old time / new
    /// time, geometric mean over both slot orders: whole-range groups up to 4 MiB, L3 (LSTM 256, batch 64) 1.04 on one
    /// thread, 1.05 on two; L1 (LSTM 512, batch 64) 1.07 and 1.05; L4 (GRU 512) 1.06; F1 1.04 and 1.04; LSTM 256 at batch
    /// 8 1.08. Blocks above it: L2 (LSTM 1024, batch 64) 1.03 on one thread, 1.04 on two; L5 (RNN 1760) 1.03 and 1.04;
    /// LSTM 1024 at batch 9, 16 and 25 1.03, 1.10, 1.07; RNN 1760 at batch 13 1.04.
    /// </summary>
    internal const long ColumnVectorBlocksFromBytes = 4L << 20;

    /// <summary>
    /// Panels per block of column vectors (<see cref="ColumnVectorBlocksFromBytes"/>): 12 vectors, the four-row kernel's
    /// passes of 3 with none of 2 left over.
    /// </summary>
    internal const int ColumnVectorBlockPanels = 3;

    /// <summary>Whether a product of <paramref name="rows"/> rows over k = <paramref name="k"/> and
    /// <paramref name="weightBytes"/> of W runs from column vectors where W has them and the path reads them: up to
    /// <see cref="ColumnVectorsMaxWeightBytes"/>, 2 to 4 rows always, more from <see cref="ColumnVectorGroupsMinK"/>.</summary>
    private static bool ColumnVectorsPay(int rows, int k, long weightBytes) =>
        weightBytes <= ColumnVectorsMaxWeightBytes
        && (rows is >= 2 and <= 4 || (rows > 4 && k >= ColumnVectorGroupsMinK));

    /// <summary>The widest path the hardware accelerates.</summary>
    public static KernelPath BestPath { get; } =
        Vector512.IsHardwareAccelerated ? KernelPath.Vector512
        : Vector256.IsHardwareAccelerated ? KernelPath.Vector256
        : Vector128.IsHardwareAccelerated ? KernelPath.Vector128
        : KernelPath.Scalar;

    /// <summary>
    /// Builds the column vectors of <paramref name="w"/> (<see cref="PackedMatrix.EnsureColumnVectors"/>, a second copy of W)
    /// if the products of <paramref name="rows"/> rows that a caller is about to run on <see cref="BestPath"/> read them:
    /// on Vector256, a float matrix times 2 to 4 rows whatever its size (from W in L2 to W in memory, 1.1 to 2 times as
    /// fast as from the panels; see Gemm.Vector256.ColumnVectors.cs), or more rows (<see cref="ColumnVectorsPay"/>).
    /// Allocates once per matrix; call before a loop of products, not in it.
    /// </summary>
    internal static void PrepareColumnVectors(PackedMatrix w, int rows)
    {
        if (BestPath == KernelPath.Vector256 && !w.IsCompact && ColumnVectorsPay(rows, w.Cols, WeightBytesOf(w.Cols, w.PanelCount)))
        {
            w.EnsureColumnVectors();
        }
    }

    /// <summary>
    /// The most float W whose input products (a block's rows times W_ih, before its time loop) read column vectors:
    /// <see cref="PrepareInputColumnVectors"/> builds none above it. Measured on the Zen 3 machine (2026-11-30, products
    /// alone, the blocked loops and the groups in alternate calls of one process, median of the pairs' ratios): W of 1 MiB
    /// 600 × 256 × 1024 1.09–1.13, 9600 × 256 × 1024 1.08, 150 × 256 × 1024 1.07 and 25 × 256 × 1024 1.02, 512 KiB
    /// 1600 × 256 × 512 1.07, 256 KiB 1600 × 128 × 512 1.00 as fast in groups. Layers, two builds in one process, both
    /// slot orders (old/new, new/old): S2 1.010 / 0.946 on one thread and 1.041 / 0.971 on two, L3 1.022 / 0.954 and
    /// 1.026 / 0.975, F1 1.009 / 0.988, S6 1.044 / 0.959, S1 1.000 / 0.997. Larger W_ih: products alone 25 × 512 × 2048
    /// 1.02, 25 × 512 × 1536 1.12, 100 × 512 × 1536 1.00, 25 × 1024 × 4096 1.07, 1600 × 512 × 2048 1.03 (an earlier
    /// 0.75–0.83 for 25 rows was the harness, which left the odd row to the one-row kernel over the whole of W); but layers
    /// with this limit at 16 MiB (old time / new time, geometric mean over both slot orders): S3 0.94, S4 1.03, S5 1.00,
    /// L1 1.01, L4 1.03, so it stays at 2 MiB (and S3 does not hold W_ih twice).
    /// </summary>
    internal const long InputColumnVectorsMaxWeightBytes = 2L << 20;

    /// <summary>As <see cref="PrepareColumnVectors"/>, for the input weights of a layer whose input products have
    /// <paramref name="rows"/> rows: only up to <see cref="InputColumnVectorsMaxWeightBytes"/>.</summary>
    internal static void PrepareInputColumnVectors(PackedMatrix w, int rows)
    {
        if (WeightBytesOf(w.Cols, w.PanelCount) <= InputColumnVectorsMaxWeightBytes)
        {
            PrepareColumnVectors(w, rows);
        }
    }

    /// <summary>Zeros used as the initial tile when there is no bias (read with stride 0, up to 4 panels wide).</summary>
    private static readonly float[] s_zeros = new float[4 * PackedMatrix.PanelWidth];

    /// <summary>Per-thread buffer for the packed MC × KC block of A; grows on demand, never shrinks.</summary>
    [ThreadStatic]
    private static float[]? t_packBuffer;

    /// <summary>C = A·Wᵀ + bias (or + C when <paramref name="accumulate"/>), all output columns, on <see cref="BestPath"/>.</summary>
    public static void Multiply(ReadOnlySpan<float> a, int lda, int m, PackedMatrix w, ReadOnlySpan<float> bias, Span<float> c, int ldc, bool accumulate)
    {
        ArgumentNullException.ThrowIfNull(w);
        Multiply(BestPath, a, lda, m, w, bias, c, ldc, accumulate, 0, w.PanelCount);
    }

    /// <summary>As <see cref="Multiply(ReadOnlySpan{float}, int, int, PackedMatrix, ReadOnlySpan{float}, Span{float}, int, bool)"/>,
    /// restricted to the output columns of panels [firstPanel, firstPanel + panelCount).</summary>
    /// <remarks><paramref name="order"/> is the order in which a row-kernel product streams the panels of W (the
    /// blocked loops of larger m always ascend); it never changes the result.</remarks>
    public static void Multiply(
        ReadOnlySpan<float> a, int lda, int m, PackedMatrix w, ReadOnlySpan<float> bias, Span<float> c, int ldc, bool accumulate, int firstPanel, int panelCount,
        PanelOrder order = PanelOrder.Ascending)
        => Multiply(BestPath, a, lda, m, w, bias, c, ldc, accumulate, firstPanel, panelCount, order);

    /// <summary>The panel-range product on an explicit path (every path runs on any machine; unaccelerated vector
    /// widths are emulated by the runtime, slowly but exactly).</summary>
    internal static void Multiply(
        KernelPath path, ReadOnlySpan<float> a, int lda, int m, PackedMatrix w, ReadOnlySpan<float> bias, Span<float> c, int ldc, bool accumulate, int firstPanel, int panelCount,
        PanelOrder order = PanelOrder.Ascending)
    {
        Validate(a, lda, m, w, bias, c, ldc, firstPanel, panelCount);
        switch (path)
        {
            case KernelPath.Vector512:
                Dispatch<Vector512Kernel>(a, lda, m, w, bias, c, ldc, accumulate, firstPanel, panelCount, order);
                break;
            case KernelPath.Vector256:
                Dispatch<Vector256Kernel>(a, lda, m, w, bias, c, ldc, accumulate, firstPanel, panelCount, order);
                break;
            case KernelPath.Vector128:
                Dispatch<Vector128Kernel>(a, lda, m, w, bias, c, ldc, accumulate, firstPanel, panelCount, order);
                break;
            case KernelPath.Scalar:
                Dispatch<ScalarKernel>(a, lda, m, w, bias, c, ldc, accumulate, firstPanel, panelCount, order);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(path), path, "Unknown kernel path.");
        }
    }

    /// <summary>Panels a compact row kernel of <paramref name="path"/> covers at a time for products of
    /// <paramref name="rows"/> rows (<see cref="IGemmKernel.CompactRowKernelPanels"/>); 0: the product widens the
    /// weights slice by slice instead.</summary>
    internal static int CompactRowKernelPanels(KernelPath path, int rows, long weightBytes) => path switch
    {
        KernelPath.Vector512 => CompactRowKernelPanels<Vector512Kernel>(rows, weightBytes),
        KernelPath.Vector256 => CompactRowKernelPanels<Vector256Kernel>(rows, weightBytes),
        KernelPath.Vector128 => CompactRowKernelPanels<Vector128Kernel>(rows, weightBytes),
        KernelPath.Scalar => CompactRowKernelPanels<ScalarKernel>(rows, weightBytes),
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, "Unknown kernel path."),
    };

    private static int CompactRowKernelPanels<TKernel>(int rows, long weightBytes)
        where TKernel : struct, IGemmKernel => TKernel.CompactRowKernelPanels(rows, weightBytes);

    /// <summary>Panels at a time that <paramref name="path"/>'s blocked loops read compact panels directly
    /// (<see cref="IGemmKernel.CompactBlockPanels"/>), or 0: its compact products beyond the row kernels widen the
    /// weights slice by slice.</summary>
    internal static int CompactBlockPanels(KernelPath path) => path switch
    {
        KernelPath.Vector512 => CompactBlockPanels<Vector512Kernel>(),
        KernelPath.Vector256 => CompactBlockPanels<Vector256Kernel>(),
        KernelPath.Vector128 => CompactBlockPanels<Vector128Kernel>(),
        KernelPath.Scalar => CompactBlockPanels<ScalarKernel>(),
        _ => throw new ArgumentOutOfRangeException(nameof(path), path, "Unknown kernel path."),
    };

    private static int CompactBlockPanels<TKernel>()
        where TKernel : struct, IGemmKernel => TKernel.CompactBlockPanels;

    /// <summary>A validated product on one path: straight from the packed floats, or through float slices of compact
    /// (bfloat16) weights (<see cref="RunCompact"/>).</summary>
    private static void Dispatch<TKernel>(
        ReadOnlySpan<float> a, int lda, int m, PackedMatrix w, ReadOnlySpan<float> bias, Span<float> c, int ldc, bool accumulate, int firstPanel, int panelCount,
        PanelOrder order)
        where TKernel : struct, IGemmKernel
    {
        if (w.IsCompact)
        {
            RunCompact<TKernel>(a, lda, m, w, bias, c, ldc, accumulate, firstPanel, panelCount, order);
        }
        else
        {
            var panels = w.HasColumnVectors
                ? new Panels(ref w.DataReference, w.PanelStride, w.Rows, w.Cols, ref w.ColumnVectorsReference, w.ColumnVectorStride)
                : new Panels(ref w.DataReference, w.PanelStride, w.Rows, w.Cols);
            Run<TKernel>(a, lda, m, panels, bias, c, ldc, accumulate, firstPanel, panelCount, order);
        }
    }

    /// <summary>The float panels a product reads (the layout of <see cref="PackedMatrix"/>): a packed matrix's own, or a
    /// slice of a compact one widened to floats. Panel p starts <c>p·Stride</c> floats from <see cref="Data"/>. With the
    /// matrix's column vectors too when it has them (<see cref="PackedMatrix.EnsureColumnVectors"/>).</summary>
    private readonly ref struct Panels
    {
        public readonly ref float Data;

        /// <summary>Column vector 0 of the matrix (<see cref="PackedMatrix.ColumnVectorsReference"/>) when
        /// <see cref="HasColumnVectors"/>, else a null reference.</summary>
        public readonly ref float ColumnVectors;

        public Panels(ref float data, nint stride, int rows, int cols)
        {
            Data = ref data;
            Stride = stride;
            Rows = rows;
            Cols = cols;
        }

        public Panels(ref float data, nint stride, int rows, int cols, ref float columnVectors, nint columnVectorStride)
            : this(ref data, stride, rows, cols)
        {
            ColumnVectors = ref columnVectors;
            ColumnVectorStride = columnVectorStride;
            HasColumnVectors = true;
        }

        /// <summary>Whether <see cref="ColumnVectors"/> holds the full panels' column vectors.</summary>
        public bool HasColumnVectors { get; }

        /// <summary>Floats from one column vector's start to the next.</summary>
        public nint ColumnVectorStride { get; }

        /// <summary>Floats from one panel's start to the next.</summary>
        public nint Stride { get; }

        /// <summary>n: output columns (rows of W).</summary>
        public int Rows { get; }

        /// <summary>k: the reduction length.</summary>
        public int Cols { get; }
    }

    private static void Validate(ReadOnlySpan<float> a, int lda, int m, PackedMatrix w, ReadOnlySpan<float> bias, Span<float> c, int ldc, int firstPanel, int panelCount)
    {
        ArgumentNullException.ThrowIfNull(w);
        int k = w.Cols, n = w.Rows;
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfLessThan(lda, k);
        ArgumentOutOfRangeException.ThrowIfLessThan(ldc, n);
        ArgumentOutOfRangeException.ThrowIfNegative(firstPanel);
        ArgumentOutOfRangeException.ThrowIfNegative(panelCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(firstPanel, w.PanelCount - panelCount);
        if (!bias.IsEmpty && bias.Length != n)
        {
            throw new ArgumentException($"Bias must be empty or hold {n} floats, got {bias.Length}.", nameof(bias));
        }

        if (m > 0 && (long)(m - 1) * lda + k > a.Length)
        {
            throw new ArgumentException($"A ({m} rows of {k}, stride {lda}) needs {(long)(m - 1) * lda + k} floats, got {a.Length}.", nameof(a));
        }

        if (m > 0 && (long)(m - 1) * ldc + n > c.Length)
        {
            throw new ArgumentException($"C ({m} rows of {n}, stride {ldc}) needs {(long)(m - 1) * ldc + n} floats, got {c.Length}.", nameof(c));
        }
    }

    /// <summary>What a SIMD width provides to the shared loops. Implemented by one struct per path, so the generic
    /// driver is specialised (and the micro-kernel calls resolved statically) per path.</summary>
    private interface IGemmKernel
    {
        /// <summary>MR: rows per micro-tile, and the row count of a packed A micro-panel.</summary>
        static abstract int RowBlock { get; }

        /// <summary>Panels covered by one row-kernel call for an m-row product whose panel range holds
        /// <paramref name="weightBytes"/> bytes of float W; 0 when it goes through the blocked loops instead.</summary>
        static abstract int RowKernelPanels(int rows, long weightBytes);

        /// <summary>
        /// Micro-kernel: the <paramref name="rows"/> × 32 tile (rows ≤ MR) of C from packed A (row i at
        /// <c>i·PackedRowStride</c>, see <see cref="PackA"/>) and <paramref name="kc"/> groups of 32 packed W floats.
        /// Row i starts from <c>src[i * srcStride .. +32]</c> and ends in <c>dst[i * ldc .. +32]</c>; src may equal dst.
        /// </summary>
        /// While it works it may ask for <paramref name="prefetchLines"/> cache lines from <paramref name="prefetch"/> on
        /// (16 floats apart) to be brought into L2 (one per kk; the Vector512 and Vector256 kernels do, the narrower
        /// paths ignore it).
        static abstract void Tile(int rows, ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines);

        /// <summary>Target bytes of the blocked loops' KC × NC block of W on this path (<see cref="Gemm.BlockNBytes"/>).</summary>
        static virtual int BlockNBytes => Gemm.BlockNBytes;

        /// <summary>Whether the blocked loops run pairs of consecutive full panels through <see cref="WideTile"/> (with
        /// MR = <see cref="RowBlock"/> rows) rather than one panel at a time through <see cref="Tile"/>.</summary>
        static virtual bool HasWideTile => false;

        /// <summary><see cref="Tile"/> over two consecutive full panels: panel p at <paramref name="panel"/>, panel p + 1
        /// <paramref name="panelStride"/> on; row i starts from <c>src[i * srcStride .. +64]</c>, ends in <c>dst[i * ldc .. +64]</c>.</summary>
        static virtual void WideTile(int rows, ref float packedA, ref float panel, nint panelStride, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
            => throw new UnreachableException();

        /// <summary>Panels at a time that the blocked loops can run straight from compact (bfloat16) panels: 2 through
        /// <see cref="CompactWideTile"/> (pairs of full panels), 1 through <see cref="CompactTile"/> (full panels), or 0:
        /// compact products beyond the row kernels widen the weights first.</summary>
        static virtual int CompactBlockPanels => 0;

        /// <summary><see cref="Tile"/> reading a full compact panel directly, in 32-bit lanes as
        /// <see cref="CompactWideTile"/>.</summary>
        static virtual void CompactTile(int rows, ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
            => throw new UnreachableException();

        /// <summary><see cref="WideTile"/> reading compact panels directly: <paramref name="panel"/> and
        /// <paramref name="panelStride"/> in 32-bit lanes (two bfloat16 values each), a kk 16 lanes. The same chains on
        /// the widened values, so the same bits.</summary>
        static virtual void CompactWideTile(int rows, ref float packedA, ref float panel, nint panelStride, int kc, ref float src, nint srcStride, ref float dst, nint ldc, ref float prefetch, int prefetchLines)
            => throw new UnreachableException();

        /// <summary>Whether <see cref="PartialTile"/> works on this machine; otherwise a partial last panel goes through
        /// a 32-wide scratch tile.</summary>
        static virtual bool MasksPartialPanels => false;

        /// <summary>
        /// <see cref="Tile"/> for a partial last panel: reads (from src, when its stride is not 0) and writes only the
        /// first <paramref name="columns"/> (&lt; 32) columns of each row, so no scratch tile or copies are needed.
        /// Called only when <see cref="MasksPartialPanels"/>.
        /// </summary>
        static virtual void PartialTile(int rows, ref float packedA, ref float panel, int kc, ref float src, nint srcStride, ref float dst, nint ldc, int columns)
            => throw new UnreachableException();

        /// <summary>
        /// Row kernel: <paramref name="rows"/> rows (RowKernelPanels &gt; 0) of unpacked A times RowKernelPanels full
        /// consecutive panels, whole k. Panel q of row i starts from <c>src[i * srcStride + 32q ..]</c> and ends in
        /// <c>dst[i * ldc + 32q ..]</c>.
        /// </summary>
        static abstract void RowTile(int rows, ref float a, nint lda, ref float panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc);

        /// <summary>Whether a product of <paramref name="rows"/> rows reads the full panels' column vectors when the
        /// matrix has them (<see cref="ColumnVectorTile"/>).</summary>
        static virtual bool ReadsColumnVectors(int rows) => false;

        /// <summary>
        /// All <paramref name="rows"/> rows times <paramref name="vectorCount"/> column vectors (a multiple of 4: whole
        /// panels) from <paramref name="vectors"/>, <paramref name="vectorStride"/> floats apart, over the whole k, in
        /// <paramref name="order"/>; C columns 8v onwards for vector v. Start as <see cref="RowTile"/>, except that
        /// <paramref name="srcAdvances"/> false means src is zeros that do not run on with the columns (read it at 0).
        /// </summary>
        static virtual void ColumnVectorTile(
            int rows, ref float a, nint lda, ref float vectors, nint vectorStride, int vectorCount, int k, ref float src, nint srcStride, bool srcAdvances,
            ref float dst, nint ldc, PanelOrder order) => throw new UnreachableException();

        /// <summary>
        /// Panels a <see cref="CompactRowTile"/> call covers for products of <paramref name="rows"/> rows (and
        /// <paramref name="weightBytes"/> of float W), or 0 where the path has none: compact products then widen every
        /// slice of the weights to floats first (<see cref="RunCompact"/>).
        /// </summary>
        static virtual int CompactRowKernelPanels(int rows, long weightBytes) => 0;

        /// <summary>A row kernel reading compact (bfloat16) panels directly, for the rows and group of panels
        /// <see cref="CompactRowKernelPanels"/> gives (as <see cref="RowTile"/>, though a path may cover rows or sizes its
        /// float row kernels do not): <paramref name="panel"/> and <paramref name="panelStride"/> count 2-byte values. The
        /// same chains on the widened values, so the same bits.</summary>
        static virtual void CompactRowTile(int rows, ref float a, nint lda, ref ushort panel, nint panelStride, int k, ref float src, nint srcStride, ref float dst, nint ldc)
            => throw new UnreachableException();
    }

    /// <summary>Compile-time choice between a micro-kernel for whole 32-column panels and one for a partial last panel,
    /// whose loads and stores of C are masked to its columns (and which skips the upper 16 columns when none is valid).</summary>
    private interface IPanelColumns
    {
        static abstract bool Partial { get; }

        /// <summary>At most 16 columns: only the first of a tile row's two vectors is computed.</summary>
        static abstract bool Narrow { get; }
    }

    /// <summary>Compile-time row count for the generic micro-kernels: the JIT specialises a method per struct type
    /// argument and folds <c>TRows.Value</c>, so the unused accumulators of short tiles disappear.</summary>
    private interface IRowCount
    {
        static abstract int Value { get; }
    }

#pragma warning disable CA1812 // used only as generic type arguments
    private readonly struct R1 : IRowCount { public static int Value => 1; }
    private readonly struct R2 : IRowCount { public static int Value => 2; }
    private readonly struct R3 : IRowCount { public static int Value => 3; }
    private readonly struct R4 : IRowCount { public static int Value => 4; }
    private readonly struct R5 : IRowCount { public static int Value => 5; }
    private readonly struct R6 : IRowCount { public static int Value => 6; }
    private readonly struct FullPanel : IPanelColumns { public static bool Partial => false; public static bool Narrow => false; }
    private readonly struct PartialPanel : IPanelColumns { public static bool Partial => true; public static bool Narrow => false; }
    private readonly struct NarrowPanel : IPanelColumns { public static bool Partial => true; public static bool Narrow => true; }
#pragma warning restore CA1812

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Run<TKernel>(
        ReadOnlySpan<float> a, int lda, int m, Panels w, ReadOnlySpan<float> bias, Span<float> c, int ldc, bool accumulate, int firstPanel, int panelCount,
        PanelOrder order)
        where TKernel : struct, IGemmKernel
    {
        if (m == 0 || panelCount == 0)
        {
            return;
        }

        int k = w.Cols, n = w.Rows;
        int endPanel = firstPanel + panelCount;
        ref float aRef = ref MemoryMarshal.GetReference(a);
        ref float cRef = ref MemoryMarshal.GetReference(c);
        bool hasBias = !bias.IsEmpty;
        ref float biasRef = ref hasBias ? ref MemoryMarshal.GetReference(bias) : ref s_zeros[0];

        if (k == 0)
        {
            if (!accumulate)
            {
                int col0 = firstPanel * PackedMatrix.PanelWidth;
                int col1 = Math.Min(n, endPanel * PackedMatrix.PanelWidth);
                for (int i = 0; i < m; i++)
                {
                    Span<float> row = c.Slice(i * ldc + col0, col1 - col0);
                    if (hasBias)
                    {
                        bias[col0..col1].CopyTo(row);
                    }
                    else
                    {
                        row.Clear();
                    }
                }
            }

            return;
        }

        // Small m: all the full panels through the column-vector kernel when W has column vectors, else groups of full
        // panels through the multi-panel row kernel (unpacked A, whole k); the panels left over (fewer than a group, or
        // the partial last one) through the blocked loops. Descending runs the same pieces back to front.
        int fullEnd = Math.Min(endPanel, n / PackedMatrix.PanelWidth);
        if (w.HasColumnVectors && TKernel.ReadsColumnVectors(m) && ColumnVectorsPay(m, k, WeightBytesOf(k, panelCount)))
        {
            RunColumnVectors<TKernel>(ref aRef, lda, m, w, ref biasRef, hasBias, ref cRef, ldc, accumulate, firstPanel, fullEnd, endPanel, order);
            return;
        }

        int group = TKernel.RowKernelPanels(m, WeightBytesOf(k, panelCount));
        if (group == 0)
        {
            RunBlocked<TKernel>(ref aRef, lda, m, w, ref biasRef, hasBias, ref cRef, ldc, accumulate, firstPanel, endPanel);
            return;
        }

        int groupsEnd = firstPanel + ((fullEnd - firstPanel) / group * group);
        if (order == PanelOrder.Descending)
        {
            if (groupsEnd < endPanel)
            {
                RunBlocked<TKernel>(ref aRef, lda, m, w, ref biasRef, hasBias, ref cRef, ldc, accumulate, groupsEnd, endPanel);
            }

            for (int p = groupsEnd - group; p >= firstPanel; p -= group)
            {
                RowGroup<TKernel>(ref aRef, lda, m, w, ref biasRef, hasBias, ref cRef, ldc, accumulate, p);
            }

            return;
        }

        for (int p = firstPanel; p < groupsEnd; p += group)
        {
            RowGroup<TKernel>(ref aRef, lda, m, w, ref biasRef, hasBias, ref cRef, ldc, accumulate, p);
        }

        if (groupsEnd < endPanel)
        {
            RunBlocked<TKernel>(ref aRef, lda, m, w, ref biasRef, hasBias, ref cRef, ldc, accumulate, groupsEnd, endPanel);
        }
    }

    /// <summary>The full panels [firstPanel, fullEnd) through the column-vector kernel, the rest up to endPanel (the partial
    /// last panel) through the blocked loops; descending, the blocked part first.</summary>
    private static void RunColumnVectors<TKernel>(
        ref float a, nint lda, int m, Panels w, ref float bias, bool hasBias, ref float c, nint ldc, bool accumulate, int firstPanel, int fullEnd, int endPanel,
        PanelOrder order)
        where TKernel : struct, IGemmKernel
    {
        const int vectorsPerPanel = PackedMatrix.PanelWidth / PackedMatrix.ColumnVectorWidth;
        bool descending = order == PanelOrder.Descending;
        if (descending && fullEnd < endPanel)
        {
            RunBlocked<TKernel>(ref a, lda, m, w, ref bias, hasBias, ref c, ldc, accumulate, Math.Max(firstPanel, fullEnd), endPanel);
        }

        // Rows in groups of 4 (the last ones 3 + 2 or 2 or 3, never 1). Up to ColumnVectorBlocksFromBytes of W each group
        // streams the whole range; above it the range runs in blocks of ColumnVectorBlockPanels panels, every group over one
        // block (read from L2 after the first) before the next. Either way each C element is one chain over the whole k.
        int blockPanels = m > 4 && WeightBytesOf(w.Cols, fullEnd - firstPanel) > ColumnVectorBlocksFromBytes ? ColumnVectorBlockPanels : fullEnd - firstPanel;
        int blocks = firstPanel < fullEnd ? (fullEnd - firstPanel + blockPanels - 1) / blockPanels : 0;
        for (int b = 0; b < blocks; b++)
        {
            int p0 = firstPanel + ((descending ? blocks - 1 - b : b) * blockPanels);
            int p1 = Math.Min(fullEnd, p0 + blockPanels);
            int col = p0 * PackedMatrix.PanelWidth;
            ref float vectors = ref Unsafe.Add(ref w.ColumnVectors, p0 * vectorsPerPanel * w.ColumnVectorStride);
            for (int r0 = 0, rows; r0 < m; r0 += rows)
            {
                int left = m - r0;
                rows = left <= 4 ? left : left == 5 ? 3 : 4;
                ref float dst = ref Unsafe.Add(ref c, (r0 * ldc) + col);
                ref float src = ref accumulate ? ref dst : ref hasBias ? ref Unsafe.Add(ref bias, col) : ref s_zeros[0];
                TKernel.ColumnVectorTile(
                    rows, ref Unsafe.Add(ref a, r0 * lda), lda, ref vectors, w.ColumnVectorStride, (p1 - p0) * vectorsPerPanel, w.Cols, ref src,
                    accumulate ? ldc : 0, accumulate || hasBias, ref dst, ldc, order);
            }
        }

        if (!descending && fullEnd < endPanel)
        {
            RunBlocked<TKernel>(ref a, lda, m, w, ref bias, hasBias, ref c, ldc, accumulate, Math.Max(firstPanel, fullEnd), endPanel);
        }
    }

    /// <summary>One row-kernel call: all m rows times the group of full panels starting at panel <paramref name="p"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RowGroup<TKernel>(ref float a, nint lda, int m, Panels w, ref float bias, bool hasBias, ref float c, nint ldc, bool accumulate, int p)
        where TKernel : struct, IGemmKernel
    {
        nint panelStride = w.Stride;
        int col = p * PackedMatrix.PanelWidth;
        ref float dst = ref Unsafe.Add(ref c, col);
        ref float src = ref accumulate ? ref dst : ref hasBias ? ref Unsafe.Add(ref bias, col) : ref s_zeros[0];
        nint srcStride = accumulate ? ldc : 0;
        TKernel.RowTile(m, ref a, lda, ref Unsafe.Add(ref w.Data, p * panelStride), panelStride, w.Cols, ref src, srcStride, ref dst, ldc);
    }

    /// <summary>The blocked loops over float panels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void RunBlocked<TKernel>(ref float a, nint lda, int m, Panels w, ref float bias, bool hasBias, ref float c, nint ldc, bool accumulate, int firstPanel, int endPanel)
        where TKernel : struct, IGemmKernel
        => RunBlocked<TKernel, FloatPanels>(ref a, lda, m, w, ref bias, hasBias, ref c, ldc, accumulate, firstPanel, endPanel);

    /// <summary>How the blocked loops' panels hold W: floats, or compact (bfloat16) pairs in 32-bit lanes, whose
    /// products the loops run only over full panels (<see cref="IGemmKernel.CompactBlockPanels"/>).</summary>
    private interface IPanelLayout
    {
        static abstract bool Compact { get; }
    }

#pragma warning disable CA1812 // used only as generic type arguments
    private readonly struct FloatPanels : IPanelLayout { public static bool Compact => false; }
    private readonly struct CompactPanels : IPanelLayout { public static bool Compact => true; }
#pragma warning restore CA1812

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunBlocked<TKernel, TLayout>(ref float a, nint lda, int m, Panels w, ref float bias, bool hasBias, ref float c, nint ldc, bool accumulate, int firstPanel, int endPanel)
        where TKernel : struct, IGemmKernel
        where TLayout : struct, IPanelLayout
    {
        const int nr = PackedMatrix.PanelWidth;

        // A panel's kk in W's units (Data and Stride count floats, or 32-bit lanes of two compact values).
        int kkStride = TLayout.Compact ? nr / 2 : nr;
        Debug.Assert(
            !TLayout.Compact || (TKernel.CompactBlockPanels > 0 && (endPanel - firstPanel) % TKernel.CompactBlockPanels == 0 && endPanel * nr <= w.Rows),
            "compact: full panels, in pairs where the path's compact tile is wide");
        int mr = TKernel.RowBlock;

        // MC: the fewest row blocks of at most BlockMTarget rows, of about equal size (a multiple of MR). A last block of
        // a few rows would stream every W panel for little work: 256 rows run as 132 + 124, not 240 + 16.
        int mcMax = BlockMTarget / mr * mr;
        int rowBlocks = (m + mcMax - 1) / mcMax;
        int mc = ((m + rowBlocks - 1) / rowBlocks + mr - 1) / mr * mr;
        int k = w.Cols, n = w.Rows;
        nint panelStride = w.Stride;
        ref float panels = ref w.Data;

        // Scratch tile for a partial last panel (n % 32 != 0): the micro-kernel always produces 32 columns.
        bool partialLast = endPanel * nr > n;
        Span<float> scratch = partialLast && !TKernel.MasksPartialPanels ? stackalloc float[MaxRowBlock * nr] : default;

        // The partial panel's bias, zero-padded to 32 columns: its tiles start from it directly (stride 0), with no copy.
        Span<float> lastBias = partialLast && hasBias ? stackalloc float[nr] : default;
        if (!lastBias.IsEmpty)
        {
            int lastCol = (endPanel - 1) * nr;
            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref bias, lastCol), n - lastCol).CopyTo(lastBias);
        }

        float[] pack = PackBuffer(Math.Min(m, mc) * PackedRowStride);
        bool prefetchNext = WeightBytesOf(k, endPanel - firstPanel) / (TLayout.Compact ? 2 : 1) >= PrefetchWeightsFromBytes;
        ref float packed = ref MemoryMarshal.GetArrayDataReference(pack);

        // Loop 4 (ic): MC-row blocks of A — the packed MC × KC block stays in L2 across all panels.
        for (int ic = 0; ic < m; ic += mc)
        {
            int mcCur = Math.Min(mc, m - ic);
            int rowTiles = (mcCur + mr - 1) / mr;
            int baseRows = mcCur / rowTiles, extraRows = mcCur % rowTiles;

            // Loop 3 (pc): K blocks of KC, in increasing kk so every C element's chain stays in order.
            for (int pc = 0; pc < k; pc += BlockK)
            {
                int kc = Math.Min(BlockK, k - pc);
                int sliceLines = kc * kkStride * sizeof(float) / 64; // a panel's KC × 32 slice, in cache lines
                PackA(ref Unsafe.Add(ref a, ic * lda + pc), lda, mcCur, kc, ref packed);
                bool fromC = accumulate || pc > 0;

                // Loop 2 (jc): NC-panel blocks of W — the KC × NC block (~BlockNBytes) stays in L2 across loop 1.
                int blockPanels = Math.Max(1, TKernel.BlockNBytes / (kc * kkStride * sizeof(float)));
                if (TKernel.HasWideTile)
                {
                    blockPanels = Math.Max(2, blockPanels & ~1); // whole pairs of panels per block
                }

                for (int jc = firstPanel; jc < endPanel; jc += blockPanels)
                {
                    int jcEnd = Math.Min(endPanel, jc + blockPanels);

                    // Large W (PrefetchWeightsFromBytes): this block's tiles bring the next block's KC × 32 slices into L2,
                    // a share per tile, one line per kk, so the next block does not start by waiting for memory.
                    int nextLines = prefetchNext ? (Math.Min(endPanel, jcEnd + blockPanels) - jcEnd) * sliceLines : 0;
                    int tileColumns = TKernel.HasWideTile ? (jcEnd - jc + 1) / 2 : jcEnd - jc;
                    int blockTiles = rowTiles * tileColumns;
                    int linesPerTile = (nextLines + blockTiles - 1) / blockTiles;
                    int nextLine = 0;

                    // Loop 1 (ir): micro-panels of packed A, rowTiles of baseRows or baseRows + 1 (≤ MR) rows: 32 rows at
                    // MR 6 run as 6, 6, 5, 5, 5, 5, not 6 × 5 + 2 (a 2-row tile has too few FMA chains to keep the core busy).
                    // The micro-panel stays in L1 across loop 0.
                    for (int r = 0, ir = 0; r < rowTiles; r++)
                    {
                        int rows = baseRows + (r < extraRows ? 1 : 0);
                        ref float ap = ref Unsafe.Add(ref packed, ir * PackedRowStride);

                        // Loop 0 (jr): the block's panels, two at a time through the wide tile where the path has one and
                        // both are full, else one; each KC × 32 slice streamed from L2.
                        for (int p = jc; p < jcEnd; p++)
                        {
                            bool wide = TKernel.HasWideTile && p + 1 < jcEnd && (p + 2) * nr <= n;
                            int col = p * nr;
                            int nc = Math.Min(nr, n - col);
                            ref float wp = ref Unsafe.Add(ref panels, p * panelStride + pc * kkStride);
                            ref float dst = ref Unsafe.Add(ref c, ((ic + ir) * ldc) + col);
                            ref float s = ref fromC ? ref dst : ref hasBias ? ref Unsafe.Add(ref bias, col) : ref s_zeros[0];
                            nint srcStride = fromC ? ldc : 0;

                            // The next lines to prefetch, within one slice (slices of different panels lie apart). Nothing to
                            // work out per tile when there are none (small W, or this block's share already asked for).
                            int aheadLines = 0;
                            ref float ahead = ref wp;
                            if (nextLine < nextLines)
                            {
                                int inSlice = nextLine % sliceLines;
                                aheadLines = Math.Min(Math.Min(linesPerTile, kc), Math.Min(sliceLines - inSlice, nextLines - nextLine));
                                ahead = ref Unsafe.Add(ref panels, ((jcEnd + (nextLine / sliceLines)) * panelStride) + (pc * kkStride) + (inSlice * 16));
                                nextLine += aheadLines;
                            }

                            if (prefetchNext && fromC)
                            {
                                // Large W also evicts C between its uses (PrefetchTileRows): ask now for the next tile's C
                                // rows, the next panel (pair) of these rows or after the block's last one the next row
                                // tile's first, which its accumulators load first thing.
                                int nextP = p + (wide ? 2 : 1);
                                if (nextP < jcEnd)
                                {
                                    PrefetchTileRows(ref Unsafe.Add(ref dst, (nextP - p) * nr), ldc, rows);
                                }
                                else if (r + 1 < rowTiles)
                                {
                                    PrefetchTileRows(ref Unsafe.Add(ref c, ((ic + ir + rows) * ldc) + (jc * nr)), ldc, baseRows + (r + 1 < extraRows ? 1 : 0));
                                }
                            }

                            if (wide && TLayout.Compact)
                            {
                                TKernel.CompactWideTile(rows, ref ap, ref wp, panelStride, kc, ref s, srcStride, ref dst, ldc, ref ahead, aheadLines);
                                p++;
                            }
                            else if (wide)
                            {
                                TKernel.WideTile(rows, ref ap, ref wp, panelStride, kc, ref s, srcStride, ref dst, ldc, ref ahead, aheadLines);
                                p++;
                            }
                            else if (TLayout.Compact)
                            {
                                TKernel.CompactTile(rows, ref ap, ref wp, kc, ref s, srcStride, ref dst, ldc, ref ahead, aheadLines);
                            }
                            else if (nc == nr)
                            {
                                TKernel.Tile(rows, ref ap, ref wp, kc, ref s, srcStride, ref dst, ldc, ref ahead, aheadLines);
                            }
                            else if (TKernel.MasksPartialPanels)
                            {
                                // Straight from and to C (masked to its nc columns); a first K block without C starts from
                                // the zero-padded bias (or zeros), read whole with stride 0.
                                ref float start = ref fromC ? ref s : ref hasBias ? ref MemoryMarshal.GetReference(lastBias) : ref s_zeros[0];
                                TKernel.PartialTile(rows, ref ap, ref wp, kc, ref start, srcStride, ref dst, ldc, nc);
                            }
                            else
                            {
                                ref float t = ref MemoryMarshal.GetReference(scratch);
                                if (fromC)
                                {
                                    for (int i = 0; i < rows; i++)
                                    {
                                        CopyFloats(ref Unsafe.Add(ref s, i * srcStride), ref Unsafe.Add(ref t, i * nr), nc);
                                    }

                                    TKernel.Tile(rows, ref ap, ref wp, kc, ref t, nr, ref t, nr, ref ahead, aheadLines);
                                }
                                else
                                {
                                    ref float start = ref hasBias ? ref MemoryMarshal.GetReference(lastBias) : ref s_zeros[0];
                                    TKernel.Tile(rows, ref ap, ref wp, kc, ref start, 0, ref t, nr, ref ahead, aheadLines);
                                }

                                for (int i = 0; i < rows; i++)
                                {
                                    CopyFloats(ref Unsafe.Add(ref t, i * nr), ref Unsafe.Add(ref dst, i * ldc), nc);
                                }
                            }
                        }

                        ir += rows;
                    }
                }
            }
        }
    }

    /// <summary>
    /// Asks for the 64 floats (4 cache lines) of <paramref name="rows"/> rows of C from <paramref name="first"/> on to be
    /// brought into L1: the C tile a micro-kernel loads into its accumulators before its first FMA. When the blocked
    /// loops stream W of <see cref="PrefetchWeightsFromBytes"/> or more, C's lines have left the cache by the time the
    /// next K block, or the next step's recurrent product into freshly computed gates, reads them, and each tile began by
    /// waiting for them. Measured on the Zen 5 CI machine (2026-12-02, one build with the prefetch switched on and off
    /// between calls, layers in interleaved pairs, median of the pairs' ratios): L1 (LSTM 512, N = 64) 1.04–1.05×,
    /// L2 (LSTM 1024) 1.03–1.05×, L5 (RNN 1760) 1.07–1.09× as fast; asked for on every product (small W too), LSTM 256
    /// at N = 64, GRU 512 at 64, LSTM 128 at 32 and LSTM 256 at 8 ran 0.990–0.999×, hence only for large W. The address
    /// is formed as a pointer (a prefetch never faults, and a stale one is harmless); only x86 has the instruction.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void PrefetchTileRows(ref float first, nint ldc, int rows)
    {
        if (Sse.IsSupported)
        {
            float* row = (float*)Unsafe.AsPointer(ref first);
            for (int i = 0; i < rows; i++, row += ldc)
            {
                Sse.Prefetch0(row);
                Sse.Prefetch0(row + 16);
                Sse.Prefetch0(row + 32);
                Sse.Prefetch0(row + 48);
            }
        }
    }

    /// <summary>
    /// Floats between consecutive rows of packed A: one K block plus 16. The padding makes the stride 33 cache lines, so
    /// the MR rows a micro-kernel reads together fall in different L1 sets (a stride of a power of two would put them
    /// all in one); every offset <c>i·PackedRowStride</c> is a compile-time constant in the micro-kernels.
    /// </summary>
    internal const int PackedRowStride = BlockK + 16;

    /// <summary>The largest MR of any path (sizes the scratch tile).</summary>
    private const int MaxRowBlock = 6;

    /// <summary>
    /// Packs rows × kc of A (row stride lda) row by row: packed row r holds A[r, 0..kc) at <c>r·PackedRowStride</c>, so
    /// the micro-panel of rows [ir, ir + MR) starts at <c>ir·PackedRowStride</c> and the micro-kernel reads A[ir + i, kk]
    /// at the constant offset <c>i·PackedRowStride + kk</c>. A plain row copy (whole vectors), unlike a kk-major
    /// interleave whose strided scalar stores cost as much as the micro-kernel's work on one panel.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackA(ref float a, nint lda, int rows, int kc, ref float packed)
    {
        Debug.Assert(kc <= BlockK, "a packed row holds at most one K block");

        // Inline copies, whatever the row length: a call to memmove per row costs more than the copy of a short row
        // (small input or hidden sizes), and for longer ones (up to a K block) the two were within noise: against
        // memmove from 32 floats on, F1 (rows of 128) 0.998–1.027×, L3 (256) 1.003–1.015×, 64 × 512 × 2048 0.991–1.017×
        // (two builds in one process, geometric means of both slot orders, two runs; 2026-11-30).
        for (int r = 0; r < rows; r++)
        {
            CopyFloats(ref Unsafe.Add(ref a, r * lda), ref Unsafe.Add(ref packed, r * PackedRowStride), kc);
        }
    }

    /// <summary>Copies <paramref name="count"/> (at most a K block) floats: the valid columns of a partial panel's row
    /// between C and the scratch tile, or a row of A into the pack: inline, since a call to memmove per row costs more
    /// than the copy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyFloats(ref float from, ref float to, int count)
    {
        Debug.Assert(count <= BlockK, "rows of at most a K block are copied inline");
        int i = 0;
        for (; i <= count - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            Vector256.LoadUnsafe(ref from, (nuint)i).StoreUnsafe(ref to, (nuint)i);
        }

        for (; i < count; i++)
        {
            Unsafe.Add(ref to, i) = Unsafe.Add(ref from, i);
        }
    }

    private static float[] PackBuffer(int length)
    {
        float[]? buffer = t_packBuffer;
        if (buffer is null || buffer.Length < length)
        {
            buffer = new float[Math.Max(length, 1)];
            t_packBuffer = buffer;
        }

        return buffer;
    }

    /// <summary>Bytes of float W in <paramref name="panels"/> panels of <paramref name="k"/> columns.</summary>
    internal static long WeightBytesOf(int k, int panels) => (long)panels * k * PackedMatrix.PanelWidth * sizeof(float);

    [Conditional("DEBUG")]
    private static void AssertRows(int rows, int max) => Debug.Assert(rows >= 1 && rows <= max, $"rows {rows} outside 1..{max}");
}
