using System.Numerics.Tensors;
using static Recurrent.Tests.TestTensors;

namespace Recurrent.Tests.Layers;

/// <summary>One module, many threads: Forward in evaluation mode is reentrant, and LoadStateDict never shows a mix of weights.</summary>
public class ConcurrencyTests
{
    [Fact]
    public void Forward_ManyThreadsOnOneModule_MatchSerialResults()
    {
        var lstm = new Lstm(6, 11, numLayers: 2, bidirectional: true, projSize: 5, seed: 1).Eval();
        Tensor<float>[] inputs = Enumerable.Range(0, 8).Select(i => Randn(i, 4 + i, 3, 6)).ToArray();
        float[][] serial = inputs.Select(x => ToArray(lstm.Forward(x).Output)).ToArray();

        var results = new float[inputs.Length][][];
        Parallel.For(0, inputs.Length, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
            results[i] = Enumerable.Range(0, 20).Select(_ => ToArray(lstm.Forward(inputs[i]).Output)).ToArray());

        for (int i = 0; i < inputs.Length; i++)
        {
            Assert.All(results[i], r => Assert.True(serial[i].SequenceEqual(r), $"input {i} differs from its serial result"));
        }
    }

    [Fact]
    public async Task Forward_RacingLoadStateDict_SeesOldOrNewWeightsNeverAMix()
    {
        var gru = new Gru(5, 8, numLayers: 2, seed: 1).Eval();
        StateDict first = gru.StateDict(), second = new Gru(5, 8, numLayers: 2, seed: 2).StateDict();
        Tensor<float> x = Randn(3, 6, 2, 5);
        float[] firstOutput = ToArray(gru.Forward(x).Output);
        gru.LoadStateDict(second);
        float[] secondOutput = ToArray(gru.Forward(x).Output);
        Assert.False(firstOutput.SequenceEqual(secondOutput));

        using var stop = new CancellationTokenSource();
        var loader = Task.Run(() =>
        {
            for (int i = 0; !stop.IsCancellationRequested; i++)
            {
                gru.LoadStateDict(i % 2 == 0 ? first : second);
            }
        });
        var outputs = new List<float[]>();
        for (int i = 0; i < 300; i++)
        {
            outputs.Add(ToArray(gru.Forward(x).Output));
        }

        stop.Cancel();
        await loader;
        Assert.All(outputs, o => Assert.True(o.SequenceEqual(firstOutput) || o.SequenceEqual(secondOutput), "a forward saw a mix of two weight sets"));
    }
}
