namespace Recurrent.Tests.Reference;

/// <summary>
/// The test oracle for C = init + A·Wᵀ: a naive triple loop in double precision, written straight from the
/// definition (W in PyTorch layout: n rows × k columns, row-major). It also returns Σ|init| + Σ|A||W| per element,
/// the scale against which float results are compared.
/// </summary>
internal static class ReferenceGemm
{
    /// <param name="a">A, row i at <c>i * lda</c>.</param>
    /// <param name="lda">Row stride of A.</param>
    /// <param name="m">Rows of A and C.</param>
    /// <param name="w">W, n × k row-major.</param>
    /// <param name="n">Rows of W = columns of C.</param>
    /// <param name="k">Columns of W = columns of A.</param>
    /// <param name="init">The starting value of each C element as an m × n row-major block (e.g. existing C when
    /// accumulating), or null to start from <paramref name="bias"/>.</param>
    /// <param name="bias">Length-n bias, or empty for zero. Ignored when <paramref name="init"/> is given.</param>
    /// <param name="magnitude">Per element, Σ|terms| (the scale of the rounding error).</param>
    /// <returns>C as an m × n row-major block.</returns>
    public static double[] Multiply(float[] a, int lda, int m, float[] w, int n, int k, double[]? init, float[] bias, out double[] magnitude)
    {
        var c = new double[m * n];
        magnitude = new double[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double start = init is not null ? init[i * n + j] : bias.Length == 0 ? 0.0 : bias[j];
                double sum = start;
                double mag = Math.Abs(start);
                for (int kk = 0; kk < k; kk++)
                {
                    double term = (double)a[i * lda + kk] * w[j * k + kk];
                    sum += term;
                    mag += Math.Abs(term);
                }

                c[i * n + j] = sum;
                magnitude[i * n + j] = mag;
            }
        }

        return c;
    }
}
