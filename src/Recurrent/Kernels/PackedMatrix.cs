using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Recurrent.Kernels;

/// <summary>
/// A weight matrix W (<see cref="Rows"/> × <see cref="Cols"/>, row-major, PyTorch layout: rows = output features)
/// packed once for the product C = A·Wᵀ computed by <see cref="Gemm"/>.
/// </summary>
/// <remarks>
/// <para>
/// Layout. W is cut into <see cref="PanelCount"/> = ⌈Rows / 32⌉ panels of <see cref="PanelWidth"/> = 32 rows each
/// (32 output columns of C). Panel <c>p</c> holds W rows [32p, 32p + 32) "transposed": <see cref="Cols"/> groups of
/// 32 consecutive floats, group <c>kk</c> being column <c>kk</c> of those 32 rows. So
/// <code>
///   packed[p * Cols * 32 + kk * 32 + j] == W[32p + j, kk]      (0 ≤ kk &lt; Cols, 0 ≤ j &lt; 32)
/// </code>
/// and entries with 32p + j ≥ Rows (the padding of the last panel) are zero. A micro-kernel walking kk therefore
/// reads one panel as a single sequential stream, 128 bytes (two cache lines, one zmm pair) per kk.
/// </para>
/// <para>
/// Alignment. The storage is a pinned array (pinned arrays live on the pinned object heap and never move), and the
/// packed data starts at the first 64-byte boundary inside it, so every 32-float group is cache-line aligned and
/// 512/256/128-bit loads never split a line.
/// </para>
/// <para>
/// Side by side. <see cref="PackSideBySide"/> packs two matrices with the same rows, [A | B], as one whose panels hold
/// A's columns then B's, and returns views of the A and B parts: each is a PackedMatrix of its own columns whose panels
/// lie <see cref="PanelStride"/> = (colsA + colsB)·32 floats apart instead of Cols·32. A product may then read x·Aᵀ, h·Bᵀ
/// or, in one pass, [x | h]·[A | B]ᵀ from the same storage.
/// </para>
/// <para>
/// Compact. <see cref="ToCompact"/> stores the same panels as bfloat16 (<see cref="BFloat16.Round"/>), 2 bytes a weight.
/// Within each kk's 32 values the order interleaves the panel's two halves: position 2j holds column j and 2j + 1 holds
/// column 16 + j (j &lt; 16), so one 32-bit lane of a load holds both, and a shift or a mask widens either half to
/// floats in place (<see cref="Gemm"/>'s row kernels of every vector path and Vector512's wide tile do so as they read;
/// its other products widen slices of it into a float buffer first).
/// </para>
/// <para>
/// Column vectors. <see cref="EnsureColumnVectors"/> adds a second copy of the full panels, 8 columns to a contiguous
/// stream (PackedMatrix.ColumnVectors.cs), for the recurrent products of 2 or more rows on Vector256.
/// </para>
/// <para>The object is immutable after packing and may be shared between threads (the column vectors, derived from the
/// panels, are published once).</para>
/// </remarks>
internal sealed partial class PackedMatrix
{
    /// <summary>NR: output columns (= rows of W) per panel. The same for every <see cref="KernelPath"/>.</summary>
    public const int PanelWidth = 32;

    /// <summary>Alignment of the packed data, in bytes (one cache line, one zmm register).</summary>
    public const int AlignmentBytes = AlignedFloats.AlignmentBytes;

    /// <summary>The packed floats, or for a compact matrix its bfloat16 values, two to a float.</summary>
    private readonly float[] _storage;

    /// <summary>Index of the first packed value: of a float, or (compact) of a 2-byte value.</summary>
    private readonly int _offset;

    private PackedMatrix(float[] storage, int offset, int rows, int cols, int panelStride, bool compact = false)
    {
        _storage = storage;
        _offset = offset;
        Rows = rows;
        Cols = cols;
        PanelCount = (rows + PanelWidth - 1) / PanelWidth;
        PanelStride = panelStride;
        IsCompact = compact;
    }

    /// <summary>Whether the panels hold bfloat16 values (<see cref="ToCompact"/>) rather than floats.</summary>
    public bool IsCompact { get; }

    /// <summary>Rows of W = output features = columns of C (n).</summary>
    public int Rows { get; }

    /// <summary>Columns of W = input features = the reduction length (k).</summary>
    public int Cols { get; }

    /// <summary>⌈Rows / 32⌉.</summary>
    public int PanelCount { get; }

    /// <summary>Values from one panel's start to the next: <c>Cols * 32</c>, more for a side-by-side view.</summary>
    internal int PanelStride { get; }

    /// <summary>The packed floats from the first panel's start to the last one's end (for a side-by-side view this spans
    /// the other part's columns between panels too), in the layout described on the type.</summary>
    internal ReadOnlySpan<float> Data => IsCompact
        ? throw new InvalidOperationException("A compact matrix holds bfloat16 values; see CompactData.")
        : new(_storage, _offset, Length);

    /// <summary>Reference to the first packed float (valid to form even when <see cref="Data"/> is empty); not for a
    /// compact matrix.</summary>
    internal ref float DataReference
    {
        get
        {
            Debug.Assert(!IsCompact, "a compact matrix holds bfloat16 values");
            return ref _storage[_offset];
        }
    }

    /// <summary>A compact matrix's bfloat16 values, in the layout of <see cref="Data"/> with each kk's 32 interleaved (see
    /// the type's remarks).</summary>
    internal ReadOnlySpan<ushort> CompactData => IsCompact
        ? MemoryMarshal.Cast<float, ushort>(_storage.AsSpan()).Slice(_offset, Length)
        : throw new InvalidOperationException("Not a compact matrix.");

    /// <summary>Reference to a compact matrix's first value.</summary>
    internal ref ushort CompactReference
    {
        get
        {
            Debug.Assert(IsCompact, "only a compact matrix holds bfloat16 values");
            return ref Unsafe.Add(ref Unsafe.As<float, ushort>(ref MemoryMarshal.GetArrayDataReference(_storage)), _offset);
        }
    }

    /// <summary>Values from the first panel's start to the last one's end.</summary>
    private int Length => PanelCount == 0 ? 0 : ((PanelCount - 1) * PanelStride) + (Cols * PanelWidth);

    /// <summary>Address of the first packed float; used by tests to check the alignment.</summary>
    internal nint DataAddress => IsCompact
        ? Marshal.UnsafeAddrOfPinnedArrayElement(_storage, 0) + (_offset * sizeof(ushort))
        : Marshal.UnsafeAddrOfPinnedArrayElement(_storage, _offset);

    /// <summary>Packs the first <paramref name="rows"/> × <paramref name="cols"/> floats of <paramref name="weights"/>
    /// (row-major) into panels.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative or the packed size overflows.</exception>
    /// <exception cref="ArgumentException"><paramref name="weights"/> holds fewer than rows × cols floats.</exception>
    public static PackedMatrix Pack(ReadOnlySpan<float> weights, int rows, int cols)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(cols);
        if (weights.Length < (long)rows * cols)
        {
            throw new ArgumentException($"Expected at least {(long)rows * cols} weights, got {weights.Length}.", nameof(weights));
        }

        return PackSideBySide(weights, cols, [], 0, rows).Joined;
    }

    /// <summary>
    /// Packs [A | B] (rows × (colsA + colsB); A and B row-major, rows × colsA and rows × colsB) into one storage and
    /// returns it with views of its A and B columns (see the type's remarks).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A dimension is negative or the packed size overflows.</exception>
    /// <exception cref="ArgumentException">A or B holds fewer floats than its dimensions need.</exception>
    public static (PackedMatrix Joined, PackedMatrix Left, PackedMatrix Right) PackSideBySide(
        ReadOnlySpan<float> left, int leftCols, ReadOnlySpan<float> right, int rightCols, int rows)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegative(leftCols);
        ArgumentOutOfRangeException.ThrowIfNegative(rightCols);
        long cols = (long)leftCols + rightCols;
        long panels = (rows + (long)PanelWidth - 1) / PanelWidth;
        long packedLength = panels * cols * PanelWidth;
        if (packedLength > Array.MaxLength - (AlignmentBytes / sizeof(float)))
        {
            throw new ArgumentOutOfRangeException(nameof(rows), "The packed matrix would be too large.");
        }

        if (left.Length < (long)rows * leftCols)
        {
            throw new ArgumentException($"Expected at least {(long)rows * leftCols} weights, got {left.Length}.", nameof(left));
        }

        if (right.Length < (long)rows * rightCols)
        {
            throw new ArgumentException($"Expected at least {(long)rows * rightCols} weights, got {right.Length}.", nameof(right));
        }

        // Zero-initialised, so the padding rows of the last panel are zero without extra work.
        var (storage, offset) = HugePages.Allocate((int)packedLength);

        int stride = (int)cols * PanelWidth;
        var joined = new PackedMatrix(storage, offset, rows, (int)cols, stride);
        Span<float> dst = storage.AsSpan(offset, (int)packedLength);
        for (int p = 0; p < joined.PanelCount; p++)
        {
            Span<float> panel = dst.Slice(p * stride, stride);
            int panelRows = Math.Min(PanelWidth, rows - (p * PanelWidth));
            for (int j = 0; j < panelRows; j++)
            {
                int row = (p * PanelWidth) + j;
                Scatter(left.Slice(row * leftCols, leftCols), panel, j);
                Scatter(right.Slice(row * rightCols, rightCols), panel[(leftCols * PanelWidth)..], j);
            }
        }

        // Views: the same panels, each part's columns (B's start leftCols·32 floats, a multiple of 64 bytes, in).
        return (joined,
            new PackedMatrix(storage, offset, rows, leftCols, stride),
            new PackedMatrix(storage, offset + (leftCols * PanelWidth), rows, rightCols, stride));

        // Row j of a panel: its column kk at kk·32 + j.
        static void Scatter(ReadOnlySpan<float> row, Span<float> panel, int j)
        {
            for (int kk = 0; kk < row.Length; kk++)
            {
                panel[(kk * PanelWidth) + j] = row[kk];
            }
        }
    }

    /// <summary>
    /// The same matrix with its values rounded to bfloat16 (<see cref="BFloat16.Round"/>) and stored compact, with views
    /// of its left and right columns as <see cref="PackSideBySide"/> returns them (for a matrix packed alone, the right
    /// view has no columns). Call on a joined (not a view) matrix.
    /// </summary>
    public (PackedMatrix Joined, PackedMatrix Left, PackedMatrix Right) ToCompact(int leftCols)
    {
        Debug.Assert(!IsCompact && _storage.Length > 0 && PanelStride == Cols * PanelWidth, "a joined float matrix");
        ArgumentOutOfRangeException.ThrowIfNegative(leftCols);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(leftCols, Cols);
        int length = PanelCount * PanelStride;

        // Two values to a float; HugePages.Allocate puts float `offset` (so value 2·offset) on a 64-byte boundary.
        var (storage, offset) = HugePages.Allocate((length + 1) / 2);
        Span<ushort> compact = MemoryMarshal.Cast<float, ushort>(storage.AsSpan()).Slice(2 * offset, length);
        ReadOnlySpan<float> floats = Data;
        for (int group = 0; group < length; group += PanelWidth)
        {
            for (int j = 0; j < PanelWidth; j++)
            {
                compact[group + InterleavedPosition(j)] = BFloat16.Round(floats[group + j]);
            }
        }

        int start = 2 * offset;
        return (new PackedMatrix(storage, start, Rows, Cols, PanelStride, compact: true),
            new PackedMatrix(storage, start, Rows, leftCols, PanelStride, compact: true),
            new PackedMatrix(storage, start + (leftCols * PanelWidth), Rows, Cols - leftCols, PanelStride, compact: true));
    }

    /// <summary>Where column <paramref name="j"/> of a kk's 32 lies in a compact matrix: 2j for the first 16, 2(j − 16) + 1
    /// for the rest.</summary>
    internal static int InterleavedPosition(int j) => j < PanelWidth / 2 ? 2 * j : (2 * (j - (PanelWidth / 2))) + 1;
}
