namespace Recurrent.Parameters;

/// <summary>One named parameter: where it belongs and its PyTorch shape (Cols is 0 for a 1-D bias).</summary>
internal readonly record struct ParameterSpec(string Name, int Layer, int Direction, ParameterKind Kind, int Rows, int Cols)
{
    public int Length => Cols == 0 ? Rows : Rows * Cols;

    public nint[] Shape => Cols == 0 ? [Rows] : [Rows, Cols];
}
