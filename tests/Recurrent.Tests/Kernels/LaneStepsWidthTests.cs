using Recurrent.Kernels;

namespace Recurrent.Tests.Kernels;

/// <summary>
/// The lane kernels run on Vector512 where it is accelerated, on Vector256 halves of each 16-sequence chunk where that
/// is, and on Vector128 quarters elsewhere (<see cref="LaneSteps.Width"/>). Each is called here directly, on any machine
/// (the runtime emulates a width the hardware lacks), and all must give the same bits, but for the Vector128 product
/// where the hardware does not fuse: that one multiplies, then adds, and must give the bits of that chain. The layer tests
/// (<see cref="LaneStepsTests"/>) then hold the machine's own width to the row-major path. Row counts cover a whole
/// chunk, a chunk whose upper half is all past the running sequences, and halves and quarters partly running; columns
/// past the chunks are carried over.
/// </summary>
public class LaneStepsWidthTests
{
    private const float Sentinel = -12345.5f;

    [Theory]
    [InlineData(CellType.Lstm, 10, 5, 64)]   // T1: four whole chunks
    [InlineData(CellType.Lstm, 3, 8, 5)]     // one chunk, its upper half past the rows
    [InlineData(CellType.Lstm, 21, 30, 37)]  // 120 gates; the last chunk's lower half partly running
    [InlineData(CellType.Lstm, 32, 32, 44)]  // 128 gates; the last chunk's upper half partly running
    [InlineData(CellType.Gru, 7, 42, 11)]
    [InlineData(CellType.Gru, 10, 5, 64)]
    [InlineData(CellType.Rnn, 9, 48, 23)]
    [InlineData(CellType.Rnn, 20, 10, 64)]
    [InlineData(CellType.Rnn, 12, 20, 100)]  // 7 chunks: tanh four, two and one at a time (wide); 6 whole in pairs, then a half (halves)
    [InlineData(CellType.Rnn, 5, 6, 70)]     // 6 gates: the two-row tail (halves) over 4 whole chunks, two at a time, then a half
    [InlineData(CellType.Rnn, 6, 9, 64)]     // 9 gates: the one-row tail over 4 chunks at once
    [InlineData(CellType.Gru, 4, 7, 50)]     // 21 gates: the one-row tail over 3 whole chunks, then a half partly running
    [InlineData(CellType.Rnn, 3, 1, 100)]    // 1 gate: the one-row tail alone, 4 whole chunks then 2, then a half
    [InlineData(CellType.Rnn, 3, 2, 20)]     // 2 gates: the two-row tail alone, over 1 whole chunk, then a half
    [InlineData(CellType.Lstm, 6, 3, 7)]     // one chunk, its second quarter partly running, the last two past the rows
    [InlineData(CellType.Gru, 5, 4, 30)]     // the last chunk's fourth quarter partly running
    [InlineData(CellType.Rnn, 4, 7, 26)]     // the last chunk's third quarter partly running
    [InlineData(CellType.Lstm, 10, 5, 40)]   // two whole chunks and a lower half all running: H odd, the last unit's halves paired
    [InlineData(CellType.Gru, 10, 5, 8)]     // a lower half alone, 15 gates: two eight-row passes
    [InlineData(CellType.Rnn, 20, 10, 24)]   // the two-row tail over the whole chunk, the half chunk's rows in 8 + 4
    [InlineData(CellType.Rnn, 12, 20, 88)]   // tanh two chunks at a time, then one, then the half chunk's units in pairs
    [InlineData(CellType.Lstm, 10, 5, 20)]   // a whole chunk and a first quarter (quarters: its units in pairs, H odd)
    [InlineData(CellType.Lstm, 10, 5, 3)]    // a first quarter alone, 20 gates: 8 + 8 + 4 rows
    [InlineData(CellType.Lstm, 10, 5, 11)]   // a third quarter alone: its four-row pass takes the fourth too
    [InlineData(CellType.Rnn, 4, 5, 20)]     // 5 gates: the one-row tail over one whole chunk alone, then a half in one eight-row pass
    public void ProductAndGateMath_GiveTheSameBitsOnEveryWidth(CellType cell, int inputWidth, int hiddenSize, int rows)
    {
        int gates = (cell == CellType.Lstm ? 4 : cell == CellType.Gru ? 3 : 1) * hiddenSize;
        int stride = LaneSteps.Stride(rows) + LaneSteps.Lanes; // one chunk of columns past the running ones
        var random = new Random(rows * 31 + hiddenSize);
        float[] weights = Random(random, gates * (inputWidth + hiddenSize), 0.5f);
        float[] bias = Random(random, gates, 0.5f);
        float[] inputs = Random(random, inputWidth * stride, 1);
        float[] hidden = Random(random, hiddenSize * stride, 1);
        PackedMatrix packed = PackedMatrix.Pack(weights, gates, inputWidth + hiddenSize);

        // Every width writes its chunks' columns at most, [0, used): the chunk of columns past them stays as it was.
        int used = LaneSteps.Stride(rows);
        float[] Product(LaneWidth width)
        {
            float[] result = Filled(LaneSteps.GateRows(gates) * stride);
            LaneSteps.Product(packed, bias, inputs, inputWidth, hidden, hiddenSize, stride, rows, result, width);
            for (int i = 0; i < result.Length; i++)
            {
                Assert.True(i % stride < used || result[i] == Sentinel, $"{width}: gate row {i / stride}, column {i % stride} (past the {used} used) written");
            }

            return result;
        }

        // The G·H gate rows (the padding rows past them are scratch, which the halves' tail passes do not write), in the
        // running columns: halves skip the upper half of a last chunk past them.
        float[] product = Product(LaneWidth.Vector512).AsSpan(0, gates * stride).ToArray();
        Assert.NotEqual(Sentinel, product[0]); // it ran
        Assert.NotEqual(Sentinel, product[((gates - 1) * stride) + rows - 1]); // the last gate row too
        float[] halves = Product(LaneWidth.Vector256);
        for (int j = 0; j < gates; j++)
        {
            Assert.Equal(product.AsSpan(j * stride, rows).ToArray(), halves.AsSpan(j * stride, rows).ToArray());
        }

        // Quarters, in the running columns (they skip the quarters past them): the same bits where the hardware fuses;
        // else those of bias, then each term's product rounded and added in the same order.
        float[] quarters = Product(LaneWidth.Vector128).AsSpan(0, gates * stride).ToArray();
        for (int j = 0; j < gates; j++)
        {
            for (int n = 0; n < rows; n++)
            {
                float expected = product[(j * stride) + n];
                if (!FusedMultiplyAdds.InHardware)
                {
                    expected = bias[j];
                    for (int kk = 0; kk < inputWidth + hiddenSize; kk++)
                    {
                        float term = (kk < inputWidth ? inputs[(kk * stride) + n] : hidden[((kk - inputWidth) * stride) + n]) * weights[(j * (inputWidth + hiddenSize)) + kk];
                        expected = term + expected;
                    }
                }

                float actual = quarters[(j * stride) + n];
                Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual), $"gate {j}, sequence {n}: expected {expected}, got {actual}");
            }
        }

        // The gate math on pre-activations from ±4 (the product's, scaled up), through the saturating ends.
        float[] preActivations = product.Select(v => v == Sentinel ? v : v * 4).ToArray();

        // Columns [rows, columns) carry the state over, later ones are not touched: with the chunk past the used ones
        // among the carried (whole chunks carried), and left out.
        foreach (int columns in new[] { stride, used })
        {
            CheckGateMath(columns);
        }

        void CheckGateMath(int columns)
        {
            switch (cell)
            {
                case CellType.Lstm:
                {
                    float[] cellState = Random(random, hiddenSize * stride, 2);
                    (float[] Cell, float[] Next) Lstm(LaneWidth width)
                    {
                        float[] c = (float[])cellState.Clone(), next = Filled(hiddenSize * stride);
                        LaneSteps.Lstm(preActivations, hidden, c, next, hiddenSize, stride, rows, columns, width);
                        return (c, next);
                    }

                    var (wideCell, wideNext) = Lstm(LaneWidth.Vector512);
                    foreach (LaneWidth width in new[] { LaneWidth.Vector256, LaneWidth.Vector128 })
                    {
                        var (narrowCell, narrowNext) = Lstm(width);
                        Assert.Equal(wideCell, narrowCell);
                        Assert.Equal(wideNext, narrowNext);
                    }

                    AssertCarriedOver(hidden, wideNext, hiddenSize, stride, rows, columns, Sentinel);
                    AssertCarriedOver(cellState, wideCell, hiddenSize, stride, rows, columns, untouched: null);
                    break;
                }

                case CellType.Gru:
                {
                    float[] hiddenGates = Random(random, gates * stride, 4);
                    float[] Gru(LaneWidth width)
                    {
                        float[] next = Filled(hiddenSize * stride);
                        LaneSteps.Gru(preActivations, hiddenGates, hidden, next, hiddenSize, stride, rows, columns, width);
                        return next;
                    }

                    float[] wideNext = Gru(LaneWidth.Vector512);
                    Assert.Equal(wideNext, Gru(LaneWidth.Vector256));
                    Assert.Equal(wideNext, Gru(LaneWidth.Vector128));
                    AssertCarriedOver(hidden, wideNext, hiddenSize, stride, rows, columns, Sentinel);
                    break;
                }

                default:
                    foreach (Nonlinearity nonlinearity in new[] { Nonlinearity.Tanh, Nonlinearity.Relu })
                    {
                        float[] Rnn(LaneWidth width)
                        {
                            float[] next = Filled(hiddenSize * stride);
                            LaneSteps.Rnn(preActivations, hidden, next, hiddenSize, stride, rows, columns, nonlinearity, width);
                            return next;
                        }

                        float[] wideNext = Rnn(LaneWidth.Vector512);
                        Assert.Equal(wideNext, Rnn(LaneWidth.Vector256));
                        Assert.Equal(wideNext, Rnn(LaneWidth.Vector128));
                        AssertCarriedOver(hidden, wideNext, hiddenSize, stride, rows, columns, Sentinel);
                    }

                    break;
            }
        }
    }

    /// <summary>Columns [rows, columns) hold the state carried over, later ones <paramref name="untouched"/> (what they held
    /// before the call: the sentinel of a fresh h', or the state itself for c, which no column past the rows changes), and
    /// at least one running column changed.</summary>
    private static void AssertCarriedOver(float[] before, float[] after, int hiddenSize, int stride, int rows, int columns, float? untouched)
    {
        bool changed = false;
        for (int u = 0; u < hiddenSize; u++)
        {
            for (int n = 0; n < stride; n++)
            {
                int i = (u * stride) + n;
                if (n >= columns)
                {
                    float expected = untouched ?? before[i];
                    Assert.True(expected == after[i], $"unit {u}, column {n} (past the {columns} columns): {expected} became {after[i]}");
                }
                else if (n >= rows)
                {
                    Assert.True(before[i] == after[i], $"unit {u}, column {n} (past the {rows} running): {before[i]} became {after[i]}");
                }
                else
                {
                    changed |= before[i] != after[i];
                }
            }
        }

        Assert.True(changed, "no running column changed");
    }

    private static float[] Random(Random random, int length, float scale)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++)
        {
            values[i] = ((float)random.NextDouble() * 2 - 1) * scale;
        }

        return values;
    }

    private static float[] Filled(int length) => Enumerable.Repeat(Sentinel, length).ToArray();
}
