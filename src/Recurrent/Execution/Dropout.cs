namespace Recurrent.Execution;

/// <summary>
/// Inverted dropout as <c>torch.nn.functional.dropout</c> in training mode: each element is zeroed with probability
/// p and the survivors are scaled by 1 / (1 - p), so the expected value is unchanged. p = 1 zeroes everything.
/// </summary>
internal static class Dropout
{
    public static void Apply(Span<float> values, double probability, Random random)
    {
        if (probability >= 1)
        {
            values.Clear();
            return;
        }

        float scale = (float)(1 / (1 - probability));
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = random.NextDouble() < probability ? 0f : values[i] * scale;
        }
    }
}
