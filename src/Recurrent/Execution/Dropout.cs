namespace Recurrent.Execution;

/// <summary>
/// Inverted dropout as <c>torch.nn.functional.dropout</c> in training mode: each element is multiplied by 0 with
/// probability p and the survivors by 1 / (1 - p), so the expected value is unchanged; p = 1 multiplies everything by 0.
/// Multiplied, not overwritten, as PyTorch's <c>input * noise</c>: a dropped NaN or infinity stays NaN, and a dropped
/// negative value is −0.
/// </summary>
internal static class Dropout
{
    public static void Apply(Span<float> values, double probability, Random random)
    {
        if (probability >= 1)
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] *= 0f;
            }

            return;
        }

        float scale = (float)(1 / (1 - probability));
        for (int i = 0; i < values.Length; i++)
        {
            values[i] *= random.NextDouble() < probability ? 0f : scale;
        }
    }
}
