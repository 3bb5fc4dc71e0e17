using System.Numerics.Tensors;
using Recurrent.Execution;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>Dropout acts between layers, in training mode only, seedably; modules start in training mode as PyTorch's.</summary>
public class DropoutTests
{
    [Fact]
    public void Modules_StartInTrainingMode_TrainAndEvalSwitch()
    {
        var lstm = new Lstm(3, 4);
        Assert.True(lstm.IsTraining);
        Assert.Same(lstm, lstm.Eval());
        Assert.False(lstm.IsTraining);
        lstm.Train();
        Assert.True(lstm.IsTraining);
        lstm.Train(false);
        Assert.False(lstm.IsTraining);
    }

    [Fact]
    public void EvalMode_DropoutHasNoEffect()
    {
        var withDropout = new Gru(5, 6, numLayers: 3, dropout: 0.5, seed: 1);
        var without = new Gru(5, 6, numLayers: 3, seed: 2);
        without.LoadStateDict(withDropout.StateDict());
        Tensor<float> x = Randn(1, 7, 3, 5);
        withDropout.Eval();
        Assert.Equal(ToArray(without.Forward(x).Output), ToArray(withDropout.Forward(x).Output));
    }

    [Fact]
    public void TrainingMode_DropoutChangesOutput_AndManualSeedRepeatsIt()
    {
        var lstm = new Lstm(5, 6, numLayers: 2, dropout: 0.5, seed: 1);
        Tensor<float> x = Randn(1, 7, 3, 5);
        float[] evalOutput = ToArray(lstm.Eval().Forward(x).Output);
        lstm.Train();

        lstm.ManualSeed(9);
        float[] first = ToArray(lstm.Forward(x).Output);
        float[] second = ToArray(lstm.Forward(x).Output);
        lstm.ManualSeed(9);
        float[] repeated = ToArray(lstm.Forward(x).Output);

        Assert.NotEqual(evalOutput, first);
        Assert.NotEqual(first, second);
        Assert.Equal(first, repeated);
    }

    [Fact]
    public void TrainingMode_ConcurrentCalls_EachGetsOneUnbrokenRunOfTheStream()
    {
        // Two calls after ManualSeed, one after the other, give s1 then s2. Started together on two threads they must give
        // {s1, s2} in some order: each call draws all its masks at once, not layer by layer in turns with the other.
        var gru = new Gru(32, 128, numLayers: 3, dropout: 0.3, seed: 1); // ~2 ms a call: the two calls overlap
        Tensor<float> x = Randn(1, 20, 16, 32);
        gru.ManualSeed(9);
        float[] s1 = ToArray(gru.Forward(x).Output), s2 = ToArray(gru.Forward(x).Output);
        Assert.NotEqual(s1, s2);
        for (int trial = 0; trial < 8; trial++)
        {
            gru.ManualSeed(9);
            using var start = new Barrier(2);
            float[]? a = null, b = null;
            var other = new Thread(() => { start.SignalAndWait(); b = ToArray(gru.Forward(x).Output); });
            other.Start();
            start.SignalAndWait();
            a = ToArray(gru.Forward(x).Output);
            other.Join();
            Assert.True((a.AsSpan().SequenceEqual(s1) && b!.AsSpan().SequenceEqual(s2)) || (a.AsSpan().SequenceEqual(s2) && b!.AsSpan().SequenceEqual(s1)), $"trial {trial}");
        }
    }

    [Fact]
    public void TrainingMode_SingleLayer_DropoutHasNoEffect()
    {
        // PyTorch applies dropout to the outputs of all layers but the last: one layer means none.
        var rnn = new Rnn(5, 6, dropout: 0.9, seed: 1);
        Tensor<float> x = Randn(1, 7, 3, 5);
        Assert.Equal(ToArray(rnn.Eval().Forward(x).Output), ToArray(rnn.Train().Forward(x).Output));
    }

    [Fact]
    public void TrainingMode_DropoutOne_SecondLayerSeesZeroInput()
    {
        // With p = 1 the last layer reads zeros, so the output equals that layer alone run on zeros from the same h0.
        var rnn = new Rnn(5, 6, numLayers: 2, dropout: 1.0, seed: 1);
        var top = new Rnn(6, 6, seed: 2);
        StateDict sd = rnn.StateDict();
        top.LoadStateDict(new StateDict
        {
            { "weight_ih_l0", sd["weight_ih_l1"] }, { "weight_hh_l0", sd["weight_hh_l1"] },
            { "bias_ih_l0", sd["bias_ih_l1"] }, { "bias_hh_l0", sd["bias_hh_l1"] },
        });
        Tensor<float> h0 = Randn(3, 2, 3, 6);
        float[] h0Top = ToArray(h0).AsSpan(3 * 6).ToArray();

        var (output, hn) = rnn.Forward(Randn(4, 7, 3, 5), h0);
        var (expected, expectedHn) = top.Forward(Zeros(7, 3, 6), Tensor.Create(h0Top, [1, 3, 6]));

        Assert.Equal(ToArray(expected), ToArray(output));
        Assert.Equal(ToArray(expectedHn), ToArray(hn).AsSpan(3 * 6).ToArray());
    }

    [Fact]
    public void TrainingMode_DroppedNaN_StaysNaN_AsPyTorch()
    {
        // PyTorch 1.13 multiplies by its mask (input * noise), so a dropped NaN stays NaN:
        // torch.nn.GRU(2, 3, num_layers=2, dropout=1.0)(torch.tensor([[[float('nan'), 0.0]]])) gives all-NaN output and h_n.
        var gru = new Gru(2, 3, numLayers: 2, dropout: 1.0, seed: 0);
        var (output, hn) = gru.Forward(Tensor.Create(new[] { float.NaN, 0f }, [1, 1, 2]));

        Assert.All(ToArray(output), v => Assert.True(float.IsNaN(v), $"output {v}"));
        Assert.All(ToArray(hn), v => Assert.True(float.IsNaN(v), $"h_n {v}"));
    }

    [Fact]
    public void Dropout_DropsByMultiplying_NaNAndInfinityStayNonFinite_NegativesBecomeNegativeZero()
    {
        float[] values = [float.NaN, float.PositiveInfinity, -2f];
        Dropout.Apply(values, 1.0, new Random(1));
        Assert.True(float.IsNaN(values[0]));
        Assert.True(float.IsNaN(values[1]));
        Assert.True(values[2] == 0 && float.IsNegative(values[2]), "−2 · 0 is −0");

        float[] nans = new float[1000];
        Array.Fill(nans, float.NaN);
        Dropout.Apply(nans, 0.5, new Random(1));
        Assert.All(nans, v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void Dropout_ZeroesAboutPAndScalesSurvivorsByInverseKeep()
    {
        var values = new float[20000];
        Array.Fill(values, 3f);
        Dropout.Apply(values, 0.3, new Random(1));
        int zeros = values.Count(v => v == 0);
        Assert.InRange(zeros / (double)values.Length, 0.28, 0.32);
        Assert.All(values.Where(v => v != 0), v => Assert.Equal(3f / 0.7f, v, 6));
    }
}
