using System.Diagnostics;

namespace Recurrent.Kernels;

/// <summary>
/// Column vectors: the full panels' floats again, as <see cref="ColumnVectorCount"/> streams of
/// <see cref="ColumnVectorWidth"/> = 8 columns each (one Vector256), vector v holding W rows [8v, 8v + 8):
/// <code>
///   columnVectors[v * Cols * 8 + kk * 8 + l] == W[8v + l, kk]      (0 ≤ v &lt; 4·full panels, 0 ≤ kk &lt; Cols, 0 ≤ l &lt; 8)
/// </code>
/// A product of 2 to 4 rows on Vector256 (or of more, 4 rows at a time) holds 8 or 12 accumulators for 2 to 4 vectors
/// of W at a time; from the panels
/// (32 columns, 128 bytes a kk) those vectors are strided runs through part-used lines, which the prefetchers follow
/// poorly once W lies beyond L1, while here each is a sequential stream of 32 bytes a kk (see
/// Gemm.Vector256.ColumnVectors.cs for the measurements: 1.1 to 2 times as fast).
/// <para>
/// Built on demand (<see cref="EnsureColumnVectors"/>: a layer run with a small batch, before its time loop), since
/// they double the memory of W; derived from the immutable panels and published once, so any thread may build them and
/// readers see either none or all of them. Float matrices only.
/// </para>
/// </summary>
internal sealed partial class PackedMatrix
{
    /// <summary>Columns (rows of W) per column vector: one Vector256 of floats.</summary>
    public const int ColumnVectorWidth = 8;

    /// <summary>The column vectors once built (<see cref="EnsureColumnVectors"/>), else null.</summary>
    private ColumnVectorStorage? _columnVectors;

    /// <summary>Whether <see cref="EnsureColumnVectors"/> has built the column vectors.</summary>
    internal bool HasColumnVectors => Volatile.Read(ref _columnVectors) is not null;

    /// <summary>Column vectors of the full panels: 4 per panel, none for the partial last one.</summary>
    internal int ColumnVectorCount => Rows / PanelWidth * (PanelWidth / ColumnVectorWidth);

    /// <summary>Floats from one column vector's start to the next: <c>Cols · 8</c>.</summary>
    internal nint ColumnVectorStride => (nint)Cols * ColumnVectorWidth;

    /// <summary>Reference to column vector 0's first float; only once <see cref="HasColumnVectors"/>.</summary>
    internal ref float ColumnVectorsReference
    {
        get
        {
            ColumnVectorStorage storage = Volatile.Read(ref _columnVectors) ?? throw new InvalidOperationException("The column vectors have not been built.");
            return ref storage.Floats[storage.Offset];
        }
    }

    /// <summary>
    /// Builds the column vectors unless they exist, or there is nothing to build (no full panel, no columns) or the
    /// matrix is compact. Allocates <c>4·full panels · Cols · 8</c> floats, 64-byte aligned.
    /// </summary>
    public void EnsureColumnVectors()
    {
        if (IsCompact || HasColumnVectors || ColumnVectorCount == 0 || Cols == 0)
        {
            return;
        }

        int vectors = ColumnVectorCount, cols = Cols;
        int stride = cols * ColumnVectorWidth;
        var (floats, offset) = HugePages.Allocate(vectors * stride);
        ReadOnlySpan<float> panels = Data;
        Span<float> streams = floats.AsSpan(offset, vectors * stride);
        for (int v = 0; v < vectors; v++)
        {
            int panelStart = (v / 4 * PanelStride) + (v % 4 * ColumnVectorWidth);
            Span<float> stream = streams.Slice(v * stride, stride);
            for (int kk = 0; kk < cols; kk++)
            {
                panels.Slice(panelStart + (kk * PanelWidth), ColumnVectorWidth).CopyTo(stream[(kk * ColumnVectorWidth)..]);
            }
        }

        // Two threads may both build them; either copy is the same, and the first published stays.
        Interlocked.CompareExchange(ref _columnVectors, new ColumnVectorStorage(floats, offset), null);
        Debug.Assert(HasColumnVectors, "published");
    }

    /// <summary>A pinned array and the index of its first aligned float.</summary>
    private sealed record ColumnVectorStorage(float[] Floats, int Offset);
}
