using System.Numerics;
using System.Runtime.Intrinsics;
using Recurrent.Kernels;

namespace Recurrent.Tests.Kernels;

/// <summary>
/// The fused gate math against double precision, over every H from 1 past two vector widths (so full pieces and
/// padded tails both run), and the promise that grouping rows differently never changes a bit. The nonlinearities are
/// checked at both lane widths (Vector512 is emulated where the hardware lacks it), and the two widths' gate math
/// must agree bit for bit; the other tests run the width the entry points pick on this machine.
/// </summary>
public class GateMathTests
{
    private static readonly int MaxH = (2 * Math.Max(Vector<float>.Count, Vector512<float>.Count)) + 3;

    private static readonly bool[] Widths = [false, true];

    private static float SigmoidAt(bool wide, float x) =>
        wide ? VectorMath.Sigmoid<Lanes512, Vector512<float>>(Vector512.Create(x))[15] : VectorMath.Sigmoid<NaturalLanes, Vector<float>>(new Vector<float>(x))[0];

    private static float TanhAt(bool wide, float x) =>
        wide ? VectorMath.Tanh<Lanes512, Vector512<float>>(Vector512.Create(x))[15] : VectorMath.Tanh<NaturalLanes, Vector<float>>(new Vector<float>(x))[0];

    private static float ExpAt(bool wide, float x) =>
        wide ? VectorMath.Exp<Lanes512, Vector512<float>>(Vector512.Create(x))[15] : VectorMath.Exp<NaturalLanes, Vector<float>>(new Vector<float>(x))[0];

    private static float ReluAt(bool wide, float x) =>
        wide ? VectorMath.Relu<Lanes512, Vector512<float>>(Vector512.Create(x))[15] : VectorMath.Relu<NaturalLanes, Vector<float>>(new Vector<float>(x))[0];

    [Theory]
    [InlineData(-100f, 100f)]
    [InlineData(-10f, 10f)]
    [InlineData(-1f, 1f)]
    [InlineData(-1e-3f, 1e-3f)]
    public void Sigmoid_AcrossRange_Within4Ulp(float from, float to)
    {
        foreach (bool wide in Widths)
        {
            foreach (float x in Sweep(from, to))
            {
                AssertUlps(1.0 / (1.0 + Math.Exp(-x)), SigmoidAt(wide, x), 4, $"sigmoid({x:R}), wide {wide}");
            }
        }
    }

    [Theory]
    [InlineData(-103f, 88.7f)]
    [InlineData(-87f, -80f)]
    [InlineData(80f, 88.7f)]
    [InlineData(-1f, 1f)]
    [InlineData(-1e-6f, 1e-6f)]
    public void Exp_AcrossRange_Within2Ulp(float from, float to)
    {
        foreach (bool wide in Widths)
        {
            foreach (float x in Sweep(from, to))
            {
                AssertUlps(Math.Exp(x), ExpAt(wide, x), 2, $"exp({x:R}), wide {wide}");
            }
        }
    }

    [Theory]
    [InlineData(float.NaN, float.NaN)]
    [InlineData(float.PositiveInfinity, float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity, 0f)]
    [InlineData(89f, float.PositiveInfinity)]
    [InlineData(-105f, 0f)]
    [InlineData(0f, 1f)]
    public void Exp_SpecialValues(float x, float expected)
    {
        Assert.Equal(expected, ExpAt(false, x));
        Assert.Equal(expected, ExpAt(true, x));
    }

    [Theory]
    [InlineData(-20f, 20f)]
    [InlineData(-1f, 1f)]
    [InlineData(-0.7f, 0.7f)]
    [InlineData(-1e-4f, 1e-4f)]
    public void Tanh_AcrossRange_Within3Ulp(float from, float to)
    {
        foreach (bool wide in Widths)
        {
            foreach (float x in Sweep(from, to))
            {
                AssertUlps(Math.Tanh(x), TanhAt(wide, x), 3, $"tanh({x:R}), wide {wide}");
            }
        }
    }

    [Theory]
    [InlineData(float.NaN, float.NaN, float.NaN, float.NaN)]
    [InlineData(float.PositiveInfinity, 1f, 1f, float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity, 0f, -1f, 0f)]
    [InlineData(1e30f, 1f, 1f, 1e30f)]
    [InlineData(-1e30f, 0f, -1f, 0f)]
    [InlineData(0f, 0.5f, 0f, 0f)]
    public void SpecialValues_AsPyTorch(float x, float sigmoid, float tanh, float relu)
    {
        foreach (bool wide in Widths)
        {
            Assert.Equal(sigmoid, SigmoidAt(wide, x));
            Assert.Equal(tanh, TanhAt(wide, x));
            Assert.Equal(relu, ReluAt(wide, x));
        }
    }

    /// <summary>The two- and four-vector forms the gate math uses give, lane by lane, the one-vector forms' bits: over a
    /// sweep of the whole float range (both signs, every exponent) and the special values.</summary>
    [Fact]
    public void PairedAndFourWaySigmoidAndTanh_SameBitsAsSingle()
    {
        var values = new List<float> { 0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon, 0.625f, -0.625f, 86f, -86f, 88.8f, -88.8f, 1e30f, -1e30f };
        var rng = new Random(23);
        for (int i = 0; i < 20000; i++)
        {
            values.Add(BitConverter.Int32BitsToSingle(rng.Next()) * (i % 2 == 0 ? 1 : -1));
            values.Add((float)((rng.NextDouble() * 40) - 20));
            values.Add((float)((rng.NextDouble() * 2) - 1)); // n = 0 and 1 of tanh's and sigmoid's reduction
        }

        float[] all = [.. values];
        for (int i = 0; i + 32 <= all.Length; i += 32)
        {
            var a = Vector512.Create(all.AsSpan(i, 16));
            var b = Vector512.Create(all.AsSpan(i + 16, 16));
            VectorMath.Tanh2<Lanes512, Vector512<float>>(a, b, out var ta, out var tb);
            AssertSameBits(VectorMath.Tanh<Lanes512, Vector512<float>>(a), ta, "tanh");
            AssertSameBits(VectorMath.Tanh<Lanes512, Vector512<float>>(b), tb, "tanh");
        }

        // The four-vector forms, lane by lane against the one-vector forms.
        for (int i = 0; i + 64 <= all.Length; i += 64)
        {
            Vector512<float>[] x = [.. Enumerable.Range(0, 4).Select(q => Vector512.Create(all.AsSpan(i + (16 * q), 16)))];
            VectorMath.Sigmoid4<Lanes512, Vector512<float>>(x[0], x[1], x[2], x[3], out var s0, out var s1, out var s2, out var s3);
            VectorMath.Tanh4<Lanes512, Vector512<float>>(ref all[0], i, out var t0, out var t1, out var t2, out var t3);
            Vector512<float>[] sigmoids = [s0, s1, s2, s3], tanhs = [t0, t1, t2, t3];
            for (int q = 0; q < 4; q++)
            {
                AssertSameBits(VectorMath.Sigmoid<Lanes512, Vector512<float>>(x[q]), sigmoids[q], "sigmoid, four vectors");
                AssertSameBits(VectorMath.Tanh<Lanes512, Vector512<float>>(x[q]), tanhs[q], "tanh, four vectors");
            }
        }

        static void AssertSameBits(Vector512<float> expected, Vector512<float> actual, string what)
        {
            Assert.True(
                Vector512.EqualsAll(expected.AsInt32(), actual.AsInt32()),
                $"{what}: paired {actual} differs from single {expected}");
        }
    }

    private static float SigmoidTimesTanhAt(bool wide, float a, float c) =>
        wide ? VectorMath.SigmoidTimesTanh<Lanes512, Vector512<float>>(Vector512.Create(a), Vector512.Create(c))[15]
            : VectorMath.SigmoidTimesTanh<NaturalLanes, Vector<float>>(new Vector<float>(a), new Vector<float>(c))[0];

    /// <summary>σ(a)·tanh(c) in one division against double precision: within 6 ulp (5 measured over 60 million random
    /// pairs), or within 1e-30 of a product below 1e-30 (where the denominator may overflow to a ±0 result).</summary>
    [Theory]
    [InlineData(-20f, 20f, -12f, 12f)]
    [InlineData(-100f, 100f, -1f, 1f)]
    [InlineData(-1f, 1f, -1e-3f, 1e-3f)]
    [InlineData(-90f, -60f, -25f, 25f)]
    [InlineData(60f, 90f, -0.7f, 0.7f)]
    public void SigmoidTimesTanh_AcrossRanges_Within6Ulp(float aFrom, float aTo, float cFrom, float cTo)
    {
        const int points = 301;
        foreach (bool wide in Widths)
        {
            for (int i = 0; i < points; i++)
            {
                float a = aFrom + ((aTo - aFrom) * i / (points - 1));
                for (int j = 0; j < points; j++)
                {
                    float c = cFrom + ((cTo - cFrom) * j / (points - 1));
                    double expected = Math.Tanh(c) / (1 + Math.Exp(-(double)a));
                    float actual = SigmoidTimesTanhAt(wide, a, c);
                    if (Math.Abs(expected) < 1e-30)
                    {
                        Assert.True(Math.Abs(actual - expected) < 1e-30, $"sigmoid({a:R})·tanh({c:R}), wide {wide}: expected {expected:R}, got {actual:R}");
                        continue;
                    }

                    AssertUlps(expected, actual, 6, $"sigmoid({a:R})·tanh({c:R}), wide {wide}");
                }
            }
        }
    }

    [Theory]
    [InlineData(float.NaN, 1f, float.NaN)]
    [InlineData(1f, float.NaN, float.NaN)]
    [InlineData(float.PositiveInfinity, 0.5f, 0.46211715f)] // tanh(0.5)
    [InlineData(float.NegativeInfinity, 0.5f, 0f)]
    [InlineData(0f, float.PositiveInfinity, 0.5f)]
    [InlineData(0f, float.NegativeInfinity, -0.5f)]
    [InlineData(float.PositiveInfinity, float.NegativeInfinity, -1f)]
    [InlineData(1e30f, -1e30f, -1f)]
    [InlineData(0f, 0f, 0f)]
    [InlineData(-200f, 5f, 0f)]
    public void SigmoidTimesTanh_SpecialValues(float a, float c, float expected)
    {
        foreach (bool wide in Widths)
        {
            float actual = SigmoidTimesTanhAt(wide, a, c);
            if (!FusedMultiplyAdds.InHardware && float.IsFinite(expected) && Math.Abs(expected) is not (0f or 0.5f or 1f))
            {
                // Without hardware FMA the exponential's steps multiply, then add: tanh(0.5) lands 1 ulp away.
                AssertUlps(expected, actual, 1, $"sigmoid({a:R})·tanh({c:R}), wide {wide}, without FMA");
            }
            else
            {
                Assert.Equal(expected, actual);
            }
        }
    }

    /// <summary>Arguments for the σ·tanh product's bit checks: the special values and its clamps' ends, then 16000 floats
    /// of random bits (every exponent, alternating signs) and 16000 uniform in [−20, 20], drawn from
    /// <paramref name="rng"/>.</summary>
    private static float[] ProductSweep(Random rng)
    {
        var values = new List<float> { 0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, 20f, -20f, 10f, 86f, -86f, 88.8f, -88.8f, 1e30f };
        for (int i = 0; i < 16000; i++)
        {
            values.Add(BitConverter.Int32BitsToSingle(rng.Next()) * (i % 2 == 0 ? 1 : -1));
            values.Add((float)((rng.NextDouble() * 40) - 20));
        }

        return [.. values];
    }

    /// <summary>The paired form gives the single form's bits, and the two widths give the same bits, over the whole
    /// float range and the special values.</summary>
    [Fact]
    public void SigmoidTimesTanh_PairedAndWidths_SameBits()
    {
        var rng = new Random(29);
        float[] all = ProductSweep(rng);
        float[] shuffled = [.. all.OrderBy(_ => rng.Next())];
        for (int i = 0; i + 32 <= all.Length; i += 32)
        {
            var a1 = Vector512.Create(all.AsSpan(i, 16));
            var a2 = Vector512.Create(all.AsSpan(i + 16, 16));
            var c1 = Vector512.Create(shuffled.AsSpan(i, 16));
            var c2 = Vector512.Create(shuffled.AsSpan(i + 16, 16));
            VectorMath.SigmoidTimesTanh2<Lanes512, Vector512<float>>(ref all[0], i, i + 16, ref shuffled[0], i, i + 16, out var y1, out var y2);
            Vector512<float> single1 = VectorMath.SigmoidTimesTanh<Lanes512, Vector512<float>>(a1, c1);
            Assert.True(Vector512.EqualsAll(single1.AsInt32(), y1.AsInt32()), $"paired {y1} differs from single {single1}");
            Vector512<float> single2 = VectorMath.SigmoidTimesTanh<Lanes512, Vector512<float>>(a2, c2);
            Assert.True(Vector512.EqualsAll(single2.AsInt32(), y2.AsInt32()), $"paired {y2} differs from single {single2}");
            for (int l = 0; l < 16; l += Vector<float>.Count)
            {
                Vector<float> natural = VectorMath.SigmoidTimesTanh<NaturalLanes, Vector<float>>(
                    new Vector<float>(all.AsSpan(i + l, Vector<float>.Count)), new Vector<float>(shuffled.AsSpan(i + l, Vector<float>.Count)));
                for (int k = 0; k < Vector<float>.Count; k++)
                {
                    Assert.Equal(BitConverter.SingleToInt32Bits(single1[l + k]), BitConverter.SingleToInt32Bits(natural[k]));
                }
            }
        }
    }

    /// <summary>The LSTM cell's c' with its six exponentials interleaved gives, lane by lane, the bits of the separate
    /// forms it replaced: σ(f)·c + σ(i)·tanh(g) as one fused multiply-add of <see cref="VectorMath.Sigmoid{TL, TV}"/> and
    /// <see cref="VectorMath.SigmoidTimesTanh{TL, TV}"/>, over the whole float range and the special values.</summary>
    [Fact]
    public void LstmCell2_SameBitsAsSeparateForms()
    {
        var rng = new Random(31);
        float[] all = ProductSweep(rng);
        float[][] operands = [.. Enumerable.Range(0, 4).Select(_ => all.OrderBy(_ => rng.Next()).ToArray())]; // i, f, g, c
        // LstmCell2 reads the gates as a kernel lays them out: i, f, g a gate stride apart, the two vectors apart within
        // each (here 40 floats between gates, the second vector 20 floats after the first), c in a buffer of its own.
        const int gateStride = 40, second = 20;
        float[] gates = new float[3 * gateStride], cell = new float[gateStride];
        for (int n = 0; n + 32 <= all.Length; n += 32)
        {
            Vector512<float> At(int operand, int half) => Vector512.Create(operands[operand].AsSpan(n + (16 * half), 16));
            for (int half = 0; half < 2; half++)
            {
                for (int gate = 0; gate < 3; gate++)
                {
                    operands[gate].AsSpan(n + (16 * half), 16).CopyTo(gates.AsSpan((gate * gateStride) + (half * second)));
                }

                operands[3].AsSpan(n + (16 * half), 16).CopyTo(cell.AsSpan(half * second));
            }

            VectorMath.LstmCell2<Lanes512, Vector512<float>>(ref gates[0], gateStride, 0, second, ref cell[0], 0, second, out var c1, out var c2);
            Vector512<float>[] actual = [c1, c2];
            for (int half = 0; half < 2; half++)
            {
                Vector512<float> expected = Lanes512.FusedMultiplyAdd(
                    VectorMath.Sigmoid<Lanes512, Vector512<float>>(At(1, half)), At(3, half),
                    VectorMath.SigmoidTimesTanh<Lanes512, Vector512<float>>(At(0, half), At(2, half)));
                Assert.True(Vector512.EqualsAll(expected.AsInt32(), actual[half].AsInt32()), $"interleaved {actual[half]} differs from separate {expected}");
            }
        }
    }

    [Fact]
    public void LstmStep_EveryWidth_MatchesDoubleFormula()
    {
        for (int h = 1; h <= MaxH; h++)
        {
            const int batch = 3;
            float[] gates = Random(1, batch * 4 * h, 4f), cell = Random(2, batch * h, 2f);
            double[] expectedC = new double[batch * h], expectedH = new double[batch * h];
            for (int n = 0; n < batch; n++)
            {
                for (int j = 0; j < h; j++)
                {
                    double Gate(int g) => gates[(n * 4 * h) + (g * h) + j];
                    double c = (Sigmoid(Gate(1)) * cell[(n * h) + j]) + (Sigmoid(Gate(0)) * Math.Tanh(Gate(2)));
                    expectedC[(n * h) + j] = c;
                    expectedH[(n * h) + j] = Sigmoid(Gate(3)) * Math.Tanh(c);
                }
            }

            var hidden = new float[batch * h];
            GateMath.LstmStep(gates, cell, hidden, h, batch, h);
            AssertClose(expectedC, cell, $"c', H = {h}");
            AssertClose(expectedH, hidden, $"h', H = {h}");
        }
    }

    [Fact]
    public void GruStep_EveryWidth_MatchesDoubleFormula()
    {
        for (int h = 1; h <= MaxH; h++)
        {
            const int batch = 3;
            float[] x = Random(3, batch * 3 * h, 3f), hh = Random(4, batch * 3 * h, 3f), previous = Random(5, batch * h, 1f);
            var expected = new double[batch * h];
            for (int n = 0; n < batch; n++)
            {
                for (int j = 0; j < h; j++)
                {
                    int row = n * 3 * h;
                    double r = Sigmoid(x[row + j] + (double)hh[row + j]);
                    double z = Sigmoid(x[row + h + j] + (double)hh[row + h + j]);
                    double candidate = Math.Tanh(x[row + (2 * h) + j] + (r * hh[row + (2 * h) + j]));
                    expected[(n * h) + j] = ((1 - z) * candidate) + (z * previous[(n * h) + j]);
                }
            }

            // In place: previous is the destination, as the time loop calls it.
            GateMath.GruStep(x, hh, previous, h, previous, h, batch, h);
            AssertClose(expected, previous, $"h', H = {h}");
        }
    }

    [Theory]
    [InlineData(Nonlinearity.Tanh)]
    [InlineData(Nonlinearity.Relu)]
    public void RnnStep_EveryWidth_MatchesDoubleFormula(Nonlinearity nonlinearity)
    {
        for (int h = 1; h <= MaxH; h++)
        {
            float[] gates = Random(6, 2 * h, 3f);
            var hidden = new float[2 * h];
            GateMath.RnnStep(gates, hidden, h, 2, h, nonlinearity);
            double[] expected = gates.Select(g => nonlinearity == Nonlinearity.Tanh ? Math.Tanh(g) : Math.Max(g, 0)).ToArray();
            AssertClose(expected, hidden, $"h', H = {h}");
        }
    }

    [Fact]
    public void LstmStep_RowsOneByOneOrTogether_BitIdentical()
    {
        // Batch 64 (the tutorial's): several whole rows per vector for H ≤ width / 2, the last rows gathered.
        foreach (int batch in new[] { 5, 64 })
        for (int h = 1; h <= MaxH; h++)
        {
            float[] gates = Random(7, batch * 4 * h, 5f), cellTogether = Random(8, batch * h, 2f);
            float[] cellApart = (float[])cellTogether.Clone();
            float[] hiddenTogether = new float[batch * h], hiddenApart = new float[batch * h];
            GateMath.LstmStep(gates, cellTogether, hiddenTogether, h, batch, h);
            for (int n = 0; n < batch; n++)
            {
                GateMath.LstmStep(gates.AsSpan(n * 4 * h, 4 * h), cellApart.AsSpan(n * h, h), hiddenApart.AsSpan(n * h, h), h, 1, h);
            }

            Assert.Equal(cellTogether, cellApart);
            Assert.Equal(hiddenTogether, hiddenApart);
        }
    }

    [Fact]
    public void GruStep_RowsOneByOneOrTogether_BitIdentical()
    {
        for (int h = 1; h <= MaxH; h++)
        {
            const int batch = 5;
            float[] x = Random(10, batch * 3 * h, 4f), hh = Random(11, batch * 3 * h, 4f), together = Random(12, batch * h, 1f);
            float[] apart = (float[])together.Clone();
            GateMath.GruStep(x, hh, together, h, together, h, batch, h);
            for (int n = 0; n < batch; n++)
            {
                GateMath.GruStep(x.AsSpan(n * 3 * h, 3 * h), hh.AsSpan(n * 3 * h, 3 * h), apart.AsSpan(n * h, h), h, apart.AsSpan(n * h, h), h, 1, h);
            }

            Assert.Equal(together, apart);
        }
    }

    [Theory]
    [InlineData(Nonlinearity.Tanh)]
    [InlineData(Nonlinearity.Relu)]
    public void RnnStep_FlatBatchOrRowByRow_BitIdentical(Nonlinearity nonlinearity)
    {
        for (int h = 1; h <= MaxH; h++)
        {
            const int batch = 5;
            float[] gates = Random(9, batch * h, 6f);
            float[] together = new float[batch * h], apart = new float[batch * h];
            GateMath.RnnStep(gates, together, h, batch, h, nonlinearity);
            for (int n = 0; n < batch; n++)
            {
                GateMath.RnnStep(gates.AsSpan(n * h, h), apart.AsSpan(n * h, h), h, 1, h, nonlinearity);
            }

            Assert.Equal(together, apart);
        }
    }

    // Rows written apart (the hidden rows of a bidirectional output, the h rows of a wider state): for H below the vector
    // width the batch is computed across rows and scattered; each row alone takes the per-row path. Both must give the
    // same bits in the row's H places and leave the gaps between rows alone.
    [Fact]
    public void LstmStep_RowsStoredApart_SameAsOneByOne_GapsUntouched()
    {
        foreach (int batch in new[] { 7, 40 })
        for (int h = 1; h <= MaxH; h++)
        {
            int stride = (2 * h) + 1;
            float[] gates = Random(13, batch * 4 * h, 5f), cellTogether = Random(14, batch * h, 2f);
            float[] cellApart = (float[])cellTogether.Clone();
            float[] together = Filled(batch * stride, float.NaN), apart = Filled(batch * stride, float.NaN);
            GateMath.LstmStep(gates, cellTogether, together, stride, batch, h);
            for (int n = 0; n < batch; n++)
            {
                GateMath.LstmStep(gates.AsSpan(n * 4 * h, 4 * h), cellApart.AsSpan(n * h, h), apart.AsSpan(n * stride, h), stride, 1, h);
            }

            Assert.Equal(cellApart, cellTogether);
            Assert.Equal(apart, together);
            AssertGapsUntouched(together, batch, h, stride);
        }
    }

    [Fact]
    public void GruStep_RowsStoredApart_SameAsOneByOne_GapsUntouched()
    {
        for (int h = 1; h <= MaxH; h++)
        {
            const int batch = 7;
            int stride = (2 * h) + 1;
            float[] x = Random(15, batch * 3 * h, 4f), hh = Random(16, batch * 3 * h, 4f), start = Random(17, batch * stride, 1f);
            float[] together = (float[])start.Clone(), apart = (float[])start.Clone();
            GateMath.GruStep(x, hh, together, stride, together, stride, batch, h);
            for (int n = 0; n < batch; n++)
            {
                Span<float> row = apart.AsSpan(n * stride, h);
                GateMath.GruStep(x.AsSpan(n * 3 * h, 3 * h), hh.AsSpan(n * 3 * h, 3 * h), row, stride, row, stride, 1, h);
            }

            Assert.Equal(apart, together);
            for (int n = 0; n < batch; n++)
            {
                Assert.Equal(start.AsSpan((n * stride) + h, stride - h).ToArray(), together.AsSpan((n * stride) + h, stride - h).ToArray());
            }
        }
    }

    [Theory]
    [InlineData(Nonlinearity.Tanh)]
    [InlineData(Nonlinearity.Relu)]
    public void RnnStep_RowsStoredApart_SameAsOneByOne_GapsUntouched(Nonlinearity nonlinearity)
    {
        for (int h = 1; h <= MaxH; h++)
        {
            const int batch = 7;
            int stride = (2 * h) + 1;
            float[] gates = Random(18, batch * h, 6f);
            float[] together = Filled(batch * stride, float.NaN), apart = Filled(batch * stride, float.NaN);
            GateMath.RnnStep(gates, together, stride, batch, h, nonlinearity);
            for (int n = 0; n < batch; n++)
            {
                GateMath.RnnStep(gates.AsSpan(n * h, h), apart.AsSpan(n * stride, h), stride, 1, h, nonlinearity);
            }

            Assert.Equal(apart, together);
            AssertGapsUntouched(together, batch, h, stride);
        }
    }

    // The entry points pick 16 lanes where Vector512 is accelerated and Vector<T> elsewhere: a model must give the same
    // bits on both kinds of machine. Rows back to back and apart, H from 1 past two widths of 16 (across-rows, tails).
    [Fact]
    public void LstmStep_BothWidths_BitIdentical()
    {
        foreach (int stride in new[] { 0, 1 })
        {
            for (int h = 1; h <= MaxH; h++)
            {
                const int batch = 5;
                int rowStride = h + (stride * (h + 1));
                float[] gates = Random(19, batch * 4 * h, 6f), cellNatural = Random(20, batch * h, 3f);
                float[] cellWide = (float[])cellNatural.Clone();
                float[] natural = Filled(batch * rowStride, float.NaN), wide = Filled(batch * rowStride, float.NaN);
                GateMath.LstmStep<NaturalLanes, Vector<float>>(gates, cellNatural, natural, rowStride, batch, h, 0, h);
                GateMath.LstmStep<Lanes512, Vector512<float>>(gates, cellWide, wide, rowStride, batch, h, 0, h);
                Assert.Equal(cellNatural, cellWide);
                Assert.Equal(natural, wide);
                AssertGapsUntouched(wide, batch, h, rowStride);
            }
        }
    }

    [Fact]
    public void GruStep_BothWidths_BitIdentical()
    {
        foreach (int stride in new[] { 0, 1 })
        {
            for (int h = 1; h <= MaxH; h++)
            {
                const int batch = 5;
                int rowStride = h + (stride * (h + 1));
                float[] x = Random(21, batch * 3 * h, 4f), hh = Random(22, batch * 3 * h, 4f), natural = Random(23, batch * rowStride, 1f);
                float[] wide = (float[])natural.Clone();
                GateMath.GruStep<NaturalLanes, Vector<float>>(x, hh, natural, rowStride, natural, rowStride, batch, h, 0, h);
                GateMath.GruStep<Lanes512, Vector512<float>>(x, hh, wide, rowStride, wide, rowStride, batch, h, 0, h);
                Assert.Equal(natural, wide);
            }
        }
    }

    [Theory]
    [InlineData(Nonlinearity.Tanh)]
    [InlineData(Nonlinearity.Relu)]
    public void RnnStep_BothWidths_BitIdentical(Nonlinearity nonlinearity)
    {
        foreach (int stride in new[] { 0, 1 })
        {
            for (int h = 1; h <= MaxH; h++)
            {
                const int batch = 5;
                int rowStride = h + (stride * (h + 1));
                float[] gates = Random(24, batch * h, 6f);
                float[] natural = Filled(batch * rowStride, float.NaN), wide = Filled(batch * rowStride, float.NaN);
                GateMath.RnnStep<NaturalLanes, Vector<float>>(gates, natural, rowStride, batch, h, nonlinearity, 0, h);
                GateMath.RnnStep<Lanes512, Vector512<float>>(gates, wide, rowStride, batch, h, nonlinearity, 0, h);
                Assert.Equal(natural, wide);
                AssertGapsUntouched(wide, batch, h, rowStride);
            }
        }
    }

    private static float[] Filled(int length, float value) => Enumerable.Repeat(value, length).ToArray();

    /// <summary>Every row's H places were written (not NaN), and the places between rows still hold NaN.</summary>
    private static void AssertGapsUntouched(float[] rows, int batch, int h, int stride)
    {
        for (int n = 0; n < batch; n++)
        {
            for (int j = 0; j < stride; j++)
            {
                Assert.True(float.IsNaN(rows[(n * stride) + j]) == (j >= h), $"row {n}, place {j} of {stride}, H = {h}");
            }
        }
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private static IEnumerable<float> Sweep(float from, float to)
    {
        const int points = 20_001;
        for (int i = 0; i < points; i++)
        {
            yield return from + ((to - from) * i / (points - 1));
        }
    }

    private static float[] Random(int seed, int length, float scale)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length).Select(_ => (float)((random.NextDouble() * 2) - 1) * scale).ToArray();
    }

    private static void AssertUlps(double expected, float actual, int maxUlps, string what)
    {
        float rounded = (float)expected;
        int distance = Math.Abs(BitConverter.SingleToInt32Bits(rounded) - BitConverter.SingleToInt32Bits(actual));
        bool sameSign = Math.Sign(rounded) == Math.Sign(actual) || rounded == 0 || actual == 0;
        Assert.True(
            (sameSign && distance <= maxUlps) || Math.Abs(actual - expected) < 1.1754944e-38, // the smallest normal float
            $"{what}: expected {rounded:R}, got {actual:R} ({distance} ulp)");
    }

    /// <summary>Composite formulas: each step is within a few ulp, so the whole within rtol 1e-6, atol 1e-7. Without
    /// hardware FMA, GRU's h' = (h − n)·z + n rounds the product apart from the sum, and where h' is small beside its
    /// terms (|n| up to 1) that is up to an ulp of 1 more: atol 3e-7 there.</summary>
    private static void AssertClose(double[] expected, float[] actual, string what)
    {
        double absolute = FusedMultiplyAdds.InHardware ? 1e-7 : 3e-7;
        for (int i = 0; i < expected.Length; i++)
        {
            double error = Math.Abs(actual[i] - expected[i]);
            Assert.True(error <= absolute + (1e-6 * Math.Abs(expected[i])), $"{what} [{i}]: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }
}
