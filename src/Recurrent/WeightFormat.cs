namespace Recurrent;

/// <summary>How a module stores the weights its kernels read (<see cref="RecurrentModule.WeightFormat"/>).</summary>
public enum WeightFormat
{
    /// <summary>32-bit floats: the parameters as they are (the default).</summary>
    Float32,

    /// <summary>
    /// bfloat16: each weight (not the biases) rounded to the nearest bfloat16, ties to even, as PyTorch's
    /// <c>tensor.bfloat16()</c> rounds, and stored in 2 bytes. The arithmetic stays 32-bit: a forward computes what a
    /// Float32 module computes with those rounded weights. Half the bytes each step reads, for batch-1 and streaming
    /// speed where reading the weights is the bound.
    /// </summary>
    BFloat16,
}
