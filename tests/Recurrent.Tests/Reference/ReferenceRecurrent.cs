using System.Numerics.Tensors;

namespace Recurrent.Tests.Reference;

/// <summary>
/// The equations of shared/reference/pytorch-semantics.md, written out literally in double precision over plain
/// arrays: no bias folding, no packing, no reuse of library code. Seq-first batched layout (L, N, features); states
/// (D*layers, N, features). The oracle that the library's kernels and time loop are checked against on random
/// configurations (PyTorch's own outputs check this file's reading of the contract, in ReferenceRecurrentTests).
/// </summary>
internal static class ReferenceRecurrent
{
    public sealed record Result(double[] Output, double[] Hidden, double[] Cell);

    public static Result Run(RecurrentLayerOptions options, StateDict weights, float[] input, int steps, int batch, float[]? h0, float[]? c0)
    {
        int h = options.HiddenSize;
        int hOut = options.ProjSize > 0 ? options.ProjSize : h;
        int directions = options.Bidirectional ? 2 : 1;
        double[] layerInput = Array.ConvertAll(input, v => (double)v);
        int inWidth = options.InputSize;
        var hidden = new double[options.NumLayers * directions * batch * hOut];
        var cell = new double[options.NumLayers * directions * batch * h];
        double[] output = [];
        for (int layer = 0; layer < options.NumLayers; layer++)
        {
            output = new double[steps * batch * directions * hOut];
            for (int d = 0; d < directions; d++)
            {
                string sfx = $"_l{layer}" + (d == 1 ? "_reverse" : "");
                int s = layer * directions + d;
                var p = new Weights(weights, sfx, options.Bias, options.ProjSize > 0);
                for (int n = 0; n < batch; n++)
                {
                    var hState = new double[hOut];
                    var cState = new double[h];
                    for (int j = 0; j < hOut; j++)
                    {
                        hState[j] = h0 is null ? 0 : h0[(s * batch + n) * hOut + j];
                    }

                    for (int j = 0; j < h; j++)
                    {
                        cState[j] = c0 is null ? 0 : c0[(s * batch + n) * h + j];
                    }

                    for (int step = 0; step < steps; step++)
                    {
                        int t = d == 0 ? step : steps - 1 - step;
                        var x = new ReadOnlySpan<double>(layerInput, (t * batch + n) * inWidth, inWidth);
                        (hState, cState) = Step(options.CellType, options.Nonlinearity, p, x, hState, cState, h);
                        Array.Copy(hState, 0, output, (t * batch + n) * directions * hOut + d * hOut, hOut);
                    }

                    Array.Copy(hState, 0, hidden, (s * batch + n) * hOut, hOut);
                    Array.Copy(cState, 0, cell, (s * batch + n) * h, h);
                }
            }

            layerInput = output;
            inWidth = directions * hOut;
        }

        return new Result(output, hidden, options.CellType == CellType.Lstm ? cell : []);
    }

    /// <summary>One step of one sequence: returns (h', c') (c' is c for RNN and GRU).</summary>
    public static (double[] H, double[] C) Step(CellType type, Nonlinearity act, Weights p, ReadOnlySpan<double> x, double[] hPrev, double[] cPrev, int h)
    {
        int gates = type switch { CellType.Lstm => 4, CellType.Gru => 3, _ => 1 };
        var gi = new double[gates * h];
        var gh = new double[gates * h];
        for (int r = 0; r < gates * h; r++)
        {
            gi[r] = Dot(p.Wih, r, x) + (p.Bih?[r] ?? 0);
            gh[r] = Dot(p.Whh, r, hPrev) + (p.Bhh?[r] ?? 0);
        }

        switch (type)
        {
            case CellType.Rnn:
            {
                var next = new double[h];
                for (int j = 0; j < h; j++)
                {
                    double pre = gi[j] + gh[j];
                    next[j] = act == Nonlinearity.Tanh ? Math.Tanh(pre) : Math.Max(0, pre);
                }

                return (next, cPrev);
            }

            case CellType.Gru:
            {
                var next = new double[h];
                for (int j = 0; j < h; j++)
                {
                    double r = Sigmoid(gi[j] + gh[j]);
                    double z = Sigmoid(gi[h + j] + gh[h + j]);
                    double nGate = Math.Tanh(gi[2 * h + j] + r * gh[2 * h + j]);
                    next[j] = (1 - z) * nGate + z * hPrev[j];
                }

                return (next, cPrev);
            }

            default:
            {
                var c = new double[h];
                var m = new double[h];
                for (int j = 0; j < h; j++)
                {
                    double i = Sigmoid(gi[j] + gh[j]);
                    double f = Sigmoid(gi[h + j] + gh[h + j]);
                    double g = Math.Tanh(gi[2 * h + j] + gh[2 * h + j]);
                    double o = Sigmoid(gi[3 * h + j] + gh[3 * h + j]);
                    c[j] = f * cPrev[j] + i * g;
                    m[j] = o * Math.Tanh(c[j]);
                }

                if (p.Whr is null)
                {
                    return (m, c);
                }

                var projected = new double[p.Whr.GetLength(0)];
                for (int r = 0; r < projected.Length; r++)
                {
                    projected[r] = Dot(p.Whr, r, m);
                }

                return (projected, c);
            }
        }
    }

    private static double Sigmoid(double v) => 1 / (1 + Math.Exp(-v));

    private static double Dot(double[,] w, int row, ReadOnlySpan<double> v)
    {
        double sum = 0;
        for (int k = 0; k < v.Length; k++)
        {
            sum += w[row, k] * v[k];
        }

        return sum;
    }

    /// <summary>One layer and direction's parameters, read from a state dict by name (suffix "" for cells).</summary>
    public sealed class Weights
    {
        public Weights(StateDict sd, string suffix, bool bias, bool projection)
        {
            Wih = Matrix(sd["weight_ih" + suffix]);
            Whh = Matrix(sd["weight_hh" + suffix]);
            Bih = bias ? Vector(sd["bias_ih" + suffix]) : null;
            Bhh = bias ? Vector(sd["bias_hh" + suffix]) : null;
            Whr = projection ? Matrix(sd["weight_hr" + suffix]) : null;
        }

        public double[,] Wih { get; }
        public double[,] Whh { get; }
        public double[]? Bih { get; }
        public double[]? Bhh { get; }
        public double[,]? Whr { get; }

        private static double[,] Matrix(Tensor<float> t)
        {
            var data = TestTensors.ToArray(t);
            int rows = (int)t.Lengths[0], cols = (int)t.Lengths[1];
            var m = new double[rows, cols];
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < cols; c++)
                {
                    m[r, c] = data[r * cols + c];
                }
            }

            return m;
        }

        private static double[] Vector(Tensor<float> t) => Array.ConvertAll(TestTensors.ToArray(t), v => (double)v);
    }
}
