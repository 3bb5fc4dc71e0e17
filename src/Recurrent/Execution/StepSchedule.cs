namespace Recurrent.Execution;

/// <summary>
/// Which rows of a time-major sequence buffer each step occupies. Step t owns rows
/// [Offset(t), Offset(t) + Rows(t)); those are the first Rows(t) sequences of the batch, sorted longest first, so the
/// rows running at a step are always a prefix of the batch and Rows never increases with t.
/// A dense (L, N) batch is the uniform case: every step owns N rows at offset t·N.
/// </summary>
internal readonly struct StepSchedule
{
    private readonly int[]? _batchSizes;
    private readonly int[]? _offsets;

    /// <summary>A dense batch: <paramref name="steps"/> steps of <paramref name="batch"/> rows each.</summary>
    public StepSchedule(int steps, int batch)
    {
        Steps = steps;
        Batch = batch;
        TotalRows = steps * batch;
    }

    /// <summary>A packed batch; <paramref name="batchSizes"/> is positive and non-increasing (checked by the caller).</summary>
    public StepSchedule(int[] batchSizes)
    {
        _batchSizes = batchSizes;
        _offsets = new int[batchSizes.Length];
        int offset = 0;
        for (int t = 0; t < batchSizes.Length; t++)
        {
            _offsets[t] = offset;
            offset += batchSizes[t];
        }

        Steps = batchSizes.Length;
        Batch = batchSizes[0];
        TotalRows = offset;
    }

    public int Steps { get; }

    /// <summary>Rows at the first step: the number of sequences.</summary>
    public int Batch { get; }

    /// <summary>Rows of all steps together: the sum of the sequence lengths.</summary>
    public int TotalRows { get; }

    public int Rows(int step) => _batchSizes is null ? Batch : _batchSizes[step];

    public int Offset(int step) => _offsets is null ? step * Batch : _offsets[step];
}
