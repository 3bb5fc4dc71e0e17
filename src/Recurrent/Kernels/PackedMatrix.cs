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
/// <para>The object is immutable after packing and may be shared between threads.</para>
/// </remarks>
internal sealed class PackedMatrix
{
    /// <summary>NR: output columns (= rows of W) per panel. The same for every <see cref="KernelPath"/>.</summary>
    public const int PanelWidth = 32;

    /// <summary>Alignment of the packed data, in bytes (one cache line, one zmm register).</summary>
    public const int AlignmentBytes = AlignedFloats.AlignmentBytes;

    private readonly float[] _storage;
    private readonly int _offset;

    private PackedMatrix(float[] storage, int offset, int rows, int cols, int panelStride)
    {
        _storage = storage;
        _offset = offset;
        Rows = rows;
        Cols = cols;
        PanelCount = (rows + PanelWidth - 1) / PanelWidth;
        PanelStride = panelStride;
    }

    /// <summary>Rows of W = output features = columns of C (n).</summary>
    public int Rows { get; }

    /// <summary>Columns of W = input features = the reduction length (k).</summary>
    public int Cols { get; }

    /// <summary>⌈Rows / 32⌉.</summary>
    public int PanelCount { get; }

    /// <summary>Floats from one panel's start to the next: <c>Cols * 32</c>, more for a side-by-side view.</summary>
    internal int PanelStride { get; }

    /// <summary>The packed floats from the first panel's start to the last one's end (for a side-by-side view this spans
    /// the other part's columns between panels too), in the layout described on the type.</summary>
    internal ReadOnlySpan<float> Data => new(_storage, _offset, PanelCount == 0 ? 0 : ((PanelCount - 1) * PanelStride) + (Cols * PanelWidth));

    /// <summary>Reference to the first packed float (valid to form even when <see cref="Data"/> is empty).</summary>
    internal ref float DataReference => ref _storage[_offset];

    /// <summary>Address of the first packed float; used by tests to check the alignment.</summary>
    internal nint DataAddress => Marshal.UnsafeAddrOfPinnedArrayElement(_storage, _offset);

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
        var (storage, offset) = AlignedFloats.Allocate((int)packedLength);

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
}
