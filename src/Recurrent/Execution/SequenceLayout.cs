namespace Recurrent.Execution;

/// <summary>Converts between batch-first (N, L, F) and seq-first (L, N, F) layouts of a sequence tensor.</summary>
internal static class SequenceLayout
{
    /// <summary>
    /// destination[j, i, :] = source[i, j, :] for a source of shape (<paramref name="outer"/>, <paramref name="inner"/>,
    /// <paramref name="features"/>): swaps the two leading axes, rows of features stay contiguous.
    /// </summary>
    public static void SwapLeadingAxes(ReadOnlySpan<float> source, Span<float> destination, int outer, int inner, int features)
    {
        for (int i = 0; i < outer; i++)
        {
            // Source rows (i, 0..inner) are back to back; their destinations (0..inner, i) lie outer rows apart.
            StridedRows.Copy(source[(i * inner * features)..], features, destination[(i * features)..], outer * features, inner, features);
        }
    }
}
