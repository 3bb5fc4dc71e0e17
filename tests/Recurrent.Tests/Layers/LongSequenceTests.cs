using System.Buffers;
using System.Numerics.Tensors;
using Recurrent.Execution;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>
/// Long sequences: the input product runs in blocks of steps, so memory beyond the output stays bounded, and the
/// blocks (forward from the start, reverse from the end) change no result.
/// </summary>
public class LongSequenceTests
{
    [Fact]
    public void CallSize_BoundsTheBuffersThatExist_NotTheWholeSequencesGates()
    {
        // LSTM 1 → 4096 projected to 1: a step's gates are 16384 floats, but the gate buffer holds one block of steps, so
        // 131073 steps (over 2^31 gate floats in all) need buffers of ~131073 floats, and PyTorch runs them. The call
        // itself takes seconds; the check is what refused it.
        var lstm = new Lstm(1, 4096, projSize: 1);
        lstm.Config.CheckCallSize(131_073, 1, "input", [131_073, 1, 1]);
        lstm.Config.CheckCallSize(1_000_000, 1, "input", [1_000_000, 1, 1]);

        // Buffers that really would exceed an array: the output rows, or one step's gates for a huge batch.
        ArgumentAssert.Throws<ArgumentException>("input", () => lstm.Config.CheckCallSize(200_000, 200_000, "input", [1, 200_000, 1]), "(1, 200000, 1)");
        ArgumentAssert.Throws<ArgumentException>("input", () => new Lstm(1, 4096).Config.CheckCallSize(600_000, 1, "input", [600_000, 1, 1]), "(600000, 1, 1)", "split");

        // The buffers of one row per sequence: an RNN 1 → 1000 at a batch of 1.2 million holds 1.2e9 floats of output a
        // step, but its joined step inputs (input and h side by side) would be 2.4e9.
        var rnn = new Rnn(1, 1000);
        rnn.Config.CheckCallSize(1_000_000, 1_000_000, "input", [1, 1_000_000, 1]);
        ArgumentAssert.Throws<ArgumentException>("input", () => rnn.Config.CheckCallSize(1_200_000, 1_200_000, "input", [1, 1_200_000, 1]), "(1, 1200000, 1)");

        // With no sequences the input has no elements whatever its length: the length itself is bounded.
        long steps = 1L << 32;
        ArgumentAssert.Throws<ArgumentException>("input", () => new Lstm(3, 4).Forward(Zeros((nint)steps, 0, 3)), "(4294967296, 0, 3)");
        ArgumentAssert.Throws<ArgumentException>("input", () => new Gru(3, 4, batchFirst: true).Forward(Zeros(0, (nint)steps + 5, 3)), "(0, 4294967301, 3)");
    }

    [Fact]
    public void Forward_InputProductInSeveralBlocks_EqualsSingleBlockChunksExactly()
    {
        // G·H = 256, N = 8: 2048 gate floats per step, so a block holds at most 1024 steps and 2600 steps need at least three blocks.
        var lstm = new Lstm(16, 64, seed: 1).Eval();
        const int Steps = 2600, Batch = 8;
        Assert.True(Steps * Batch * 256 > 2 * Workspace.MaxGateBudget);
        Tensor<float> x = Randn(1, Steps, Batch, 16);
        var (whole, (hn, cn)) = lstm.Forward(x);

        RecurrentState state = lstm.CreateState(Batch);
        var streamed = new List<float>();
        for (int start = 0; start < Steps; start += 100)
        {
            Tensor<float> chunk = x.Slice([new NRange(start, start + 100), NRange.All, NRange.All]);
            streamed.AddRange(ToArray(lstm.Step(Tensor.Create(ToArray(chunk), chunk.Lengths), state)));
        }

        Assert.True(ToArray(whole).SequenceEqual(streamed), "blocked Forward differs from 100-step chunks");
        Assert.Equal(ToArray(hn), ToArray(state.Hidden));
        Assert.Equal(ToArray(cn), ToArray(state.Cell!));
    }

    [Fact]
    public void Forward_ReverseDirectionInSeveralBlocks_EqualsForwardLayerOnReversedInput()
    {
        var bidirectional = new Gru(12, 48, bidirectional: true, seed: 1).Eval();
        const int Steps = 2500, Batch = 8;
        Assert.True(Steps * Batch * 144 > Workspace.MaxGateBudget);
        StateDict weights = bidirectional.StateDict();
        var reverseOnly = new Gru(12, 48, seed: 2).Eval();
        reverseOnly.LoadStateDict(new StateDict(weights
            .Where(kv => kv.Key.EndsWith("_reverse", StringComparison.Ordinal))
            .Select(kv => KeyValuePair.Create(kv.Key[..^"_reverse".Length], kv.Value))));
        float[] x = ToArray(Randn(2, Steps, Batch, 12));
        float[] reversed = new float[x.Length];
        for (int t = 0; t < Steps; t++)
        {
            Array.Copy(x, t * Batch * 12, reversed, (Steps - 1 - t) * Batch * 12, Batch * 12);
        }

        float[] both = ToArray(bidirectional.Forward(Tensor.Create(x, [Steps, Batch, 12])).Output);
        float[] backward = ToArray(reverseOnly.Forward(Tensor.Create(reversed, [Steps, Batch, 12])).Output);

        for (int t = 0; t < Steps; t++)
        {
            for (int n = 0; n < Batch; n++)
            {
                var reverseHalf = both.AsSpan((t * Batch + n) * 96 + 48, 48);
                var expected = backward.AsSpan(((Steps - 1 - t) * Batch + n) * 48, 48);
                Assert.True(reverseHalf.SequenceEqual(expected), $"reverse direction differs at t={t}, n={n}");
            }
        }
    }

    [Fact]
    public void Forward_400000Steps_AllocatesOnlyTheOutputAndABoundedBlock_OnASmallStack()
    {
        const int Steps = 400_000;
        var gru = new Gru(4, 8, seed: 1).Eval();
        Tensor<float> x = Randn(3, Steps, 1, 4);
        long allocated = 0;
        float[] last = [];

        // 256 KiB of stack: the time loop must not grow the stack with the sequence.
        var thread = new Thread(
            () =>
            {
                gru.Forward(Randn(4, 10, 1, 4));
                long before = GC.GetAllocatedBytesForCurrentThread();
                var (output, hn) = gru.Forward(x);
                allocated = GC.GetAllocatedBytesForCurrentThread() - before;
                last = ToArray(hn);
            },
            maxStackSize: 256 * 1024);
        thread.Start();
        thread.Join();

        long outputBytes = Steps * 8 * sizeof(float);
        long unblockedGates = (long)Steps * 24 * sizeof(float);
        long bound = outputBytes + (Workspace.MaxGateBudget * sizeof(float)) + (1 << 20);
        Assert.True(allocated < bound, $"allocated {allocated:N0} bytes; output {outputBytes:N0}, bound {bound:N0}");
        Assert.True(bound < outputBytes + unblockedGates, "the test must be able to tell blocked from unblocked");
        Assert.All(last, v => Assert.True(float.IsFinite(v)));
    }
}
