namespace Recurrent.Tests;

/// <summary>Elementwise closeness as torch.allclose: |actual − expected| ≤ atol + rtol·|expected|, NaN only where NaN is expected.</summary>
internal static class Tolerance
{
    public const double Atol = 1e-5;
    public const double Rtol = 1e-4;

    public static void AssertClose(ReadOnlySpan<double> expected, ReadOnlySpan<float> actual, string context, double atol = Atol, double rtol = Rtol)
    {
        Assert.True(expected.Length == actual.Length, $"{context}: expected {expected.Length} values, got {actual.Length}.");
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = expected[i], a = actual[i];
            if (double.IsNaN(e) || double.IsNaN(a))
            {
                Assert.True(double.IsNaN(e) && double.IsNaN(a), $"{context}: at {i} expected {e}, got {a}.");
                continue;
            }

            if (double.IsInfinity(e) || double.IsInfinity(a))
            {
                Assert.True(e == a, $"{context}: at {i} expected {e}, got {a}.");
                continue;
            }

            double excess = Math.Abs(a - e) - (atol + rtol * Math.Abs(e));
            if (excess > worstExcess)
            {
                worstExcess = excess;
                worst = i;
            }
        }

        Assert.True(worst < 0, worst < 0 ? "" : $"{context}: at index {worst} expected {expected[worst]:R}, got {actual[worst]:R} (|diff| {Math.Abs(actual[worst] - expected[worst]):E3} exceeds atol {atol} + rtol {rtol}·|expected|).");
    }

    public static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, string context, double atol = Atol, double rtol = Rtol) =>
        AssertClose(Array.ConvertAll(expected.ToArray(), v => (double)v), actual, context, atol, rtol);
}
