using System.Numerics.Tensors;

namespace Recurrent.Tests.Readme;

/// <summary>
/// The C# examples of README.md, compiled here. Each region between "begin-example: NAME" and "end-example" must
/// equal the README's block marked "example: NAME" (ReadmeTests checks it, ignoring the README's using lines).
/// </summary>
internal static class ReadmeExamples
{
    public static void QuickStart()
    {
        // begin-example: quick-start
        static string Shape(Tensor<float> t) => $"({string.Join(", ", t.Lengths.ToArray())})";
        static Tensor<float> Randn(params nint[] shape)
        {
            var random = new Random(0);
            var values = new float[shape.Aggregate((nint)1, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++) // normal samples (Box-Muller), as np.random.randn
                values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
            return Tensor.Create(values, shape);
        }

        // Vanilla RNN: input (seq_len, batch, input_size), h0 (num_layers * num_directions, batch, hidden_size)
        var rnn = new Rnn(inputSize: 10, hiddenSize: 5, numLayers: 1);
        var (output, h1) = rnn.Forward(Randn(12, 64, 10), Tensor.CreateFromShape<float>([1, 64, 5]));
        Console.WriteLine($"RNN: {Shape(output)} {Shape(h1)}");

        // batch_first: input and output are (batch, seq_len, features); the state's layout does not change
        rnn = new Rnn(inputSize: 10, hiddenSize: 5, numLayers: 2, batchFirst: true);
        (output, h1) = rnn.Forward(Randn(64, 12, 10), Tensor.CreateFromShape<float>([2, 64, 5]));
        Console.WriteLine($"RNN, stacked, batch-first: {Shape(output)} {Shape(h1)}");

        // bidirectional, stacked; h0 is optional and defaults to zeros
        rnn = new Rnn(inputSize: 20, hiddenSize: 10, numLayers: 4, bidirectional: true);
        (output, h1) = rnn.Forward(Randn(5, 64, 20));
        Console.WriteLine($"RNN, stacked, bidirectional: {Shape(output)} {Shape(h1)}");

        // GRU: the same interface
        var gru = new Gru(inputSize: 10, hiddenSize: 5);
        (output, h1) = gru.Forward(Randn(12, 64, 10));
        Console.WriteLine($"GRU: {Shape(output)} {Shape(h1)}");

        // LSTM without an initial state: (h0, c0) are zeros
        var lstm = new Lstm(inputSize: 10, hiddenSize: 5, numLayers: 1);
        var (xn, (hn, cn)) = lstm.Forward(Randn(1, 64, 10));
        Console.WriteLine($"LSTM: {Shape(xn)} {Shape(hn)} {Shape(cn)}");

        // the same LSTM given zero (h0, c0) explicitly: the same as none
        (xn, (hn, cn)) = lstm.Forward(Randn(1, 64, 10), (Tensor.CreateFromShape<float>([1, 64, 5]), Tensor.CreateFromShape<float>([1, 64, 5])));
        Console.WriteLine($"LSTM, zero (h0, c0): {Shape(xn)} {Shape(hn)} {Shape(cn)}");

        // stacked, bidirectional LSTM with an initial state
        lstm = new Lstm(inputSize: 10, hiddenSize: 5, numLayers: 2, bidirectional: true);
        var h0 = Tensor.CreateFromShape<float>([4, 64, 5]);
        var c0 = Tensor.CreateFromShape<float>([4, 64, 5]);
        (xn, (hn, cn)) = lstm.Forward(Randn(5, 64, 10), (h0, c0));
        Console.WriteLine($"LSTM, stacked, bidirectional: {Shape(xn)} {Shape(hn)} {Shape(cn)}");

        // unbatched input (seq_len, input_size) gives unbatched output and state
        var (y, h) = new Gru(10, 5).Forward(Randn(7, 10));
        Console.WriteLine($"GRU, unbatched: {Shape(y)} {Shape(h)}");

        // cells: one step; input (batch, input_size) or (input_size)
        var cell = new LstmCell(10, 5);
        var (hc, cc) = cell.Forward(Randn(3, 10));
        Console.WriteLine($"LSTMCell: {Shape(hc)} {Shape(cc)}");
        // end-example
    }

    /// <summary>Runs in a directory holding lstm.safetensors; returns what the example computed.</summary>
    public static (Tensor<float> Output, Tensor<float> H, Tensor<float> C) LoadPyTorch(Tensor<float> input)
    {
        // begin-example: load-pytorch
        // input: your (L, N, 16) data, e.g. Tensor.Create(values, [L, N, 16])
        var lstm = new Lstm(inputSize: 16, hiddenSize: 20).Eval();
        lstm.LoadStateDict(SafeTensors.Load("lstm.safetensors"));
        var (output, (hn, cn)) = lstm.Forward(input);
        SafeTensors.Save("copy.safetensors", lstm.StateDict());
        // end-example
        return (output, hn, cn);
    }

    public static void VariableLength()
    {
        // begin-example: variable-length
        static string Shape(Tensor<float> t) => $"({string.Join(", ", t.Lengths.ToArray())})";

        // three sequences of lengths 5, 2 and 4, padded into one (L = 5, N = 3, 8) batch
        var padded = RnnUtils.PadSequence([Tensor.CreateFromShape<float>([5, 8]), Tensor.CreateFromShape<float>([2, 8]),
                                           Tensor.CreateFromShape<float>([4, 8])]);
        int[] lengths = [5, 2, 4];
        var gru = new Gru(inputSize: 8, hiddenSize: 16, bidirectional: true);

        // a padded batch with lengths: the output is zero past each length
        var (output, hn) = gru.Forward(padded, lengths);

        // or PyTorch's way: pack (any order of lengths with enforceSorted: false), run, unpack
        PackedSequence packed = RnnUtils.PackPaddedSequence(padded, lengths, enforceSorted: false);
        var (packedOutput, hn2) = gru.Forward(packed);
        var (unpacked, unpackedLengths) = RnnUtils.PadPackedSequence(packedOutput);
        Console.WriteLine($"{Shape(output)} {Shape(hn)} {Shape(unpacked)} [{string.Join(", ", unpackedLengths)}]");
        // end-example
        Assert.Equal(TestTensors.ToArray(output), TestTensors.ToArray(unpacked));
        Assert.Equal(TestTensors.ToArray(hn), TestTensors.ToArray(hn2));
    }

    public static void Streaming()
    {
        // begin-example: streaming
        static string Shape(Tensor<float> t) => $"({string.Join(", ", t.Lengths.ToArray())})";

        var lstm = new Lstm(inputSize: 4, hiddenSize: 32, numLayers: 2).Eval();
        RecurrentState state = lstm.CreateState(batchSize: 1);   // h and c of both layers, zeros
        var reading = Tensor.CreateFromShape<float>([1, 1, 4]);    // one step: (L = 1, N = 1, features)
        var output = Tensor.CreateFromShape<float>([1, 1, 32]);
        for (int t = 0; t < 100; t++)
        {
            reading[0, 0, 0] = MathF.Sin(t / 10f);                 // the sensor's value at time t
            lstm.Step(reading, state, output);                     // writes output, advances state in place
        }

        Console.WriteLine($"{Shape(output)} {Shape(state.Hidden)} {Shape(state.Cell!)}");
        // end-example
    }

    public static void Buffers()
    {
        // begin-example: buffers
        var lstm = new Lstm(inputSize: 64, hiddenSize: 128, numLayers: 2).Eval();
        lstm.MaxDegreeOfParallelism = 2;                         // up to two threads per call; same bits as one

        var input = Tensor.CreateFromShape<float>([50, 32, 64]); // (L, N, H_in), refilled by your code each call
        var output = Tensor.CreateFromShape<float>([50, 32, 128]);
        var h = Tensor.CreateFromShape<float>([2, 32, 128]);     // h0 in, h_n out (the same buffer: in place)
        var c = Tensor.CreateFromShape<float>([2, 32, 128]);
        var workspace = new ForwardWorkspace();                  // scratch kept between calls; one per thread

        lstm.Forward(input, h, c, output, h, c, workspace);      // the first call sizes the workspace
        long fewest = long.MaxValue;
        for (int call = 0; call < 10; call++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            lstm.Forward(input, h, c, output, h, c, workspace);  // later calls reuse it
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }

        // (the fewest: the runtime itself may allocate now and then while it re-optimises code)
        Console.WriteLine($"allocated by a call after the first: {fewest} bytes");
        // end-example
    }

    public static void BFloat16()
    {
        // begin-example: bfloat16
        var lstm = new Lstm(inputSize: 256, hiddenSize: 256, seed: 1).Eval();
        var random = new Random(0);
        var values = new float[150 * 256];
        for (int i = 0; i < values.Length; i++) values[i] = (float)random.NextDouble() * 2 - 1;
        var input = Tensor.Create(values, [150, 1, 256]);        // batch 1: each step reads every weight once

        var (exact, _) = lstm.Forward(input);
        lstm.WeightFormat = WeightFormat.BFloat16;               // repacks: 2 bytes a weight, float math
        var (compact, _) = lstm.Forward(input);

        float[] a = new float[exact.FlattenedLength], b = new float[compact.FlattenedLength];
        exact.FlattenTo(a);
        compact.FlattenTo(b);
        float largest = a.Zip(b, (x, y) => Math.Abs(x - y)).Max();
        Console.WriteLine($"outputs within 0.01 of Float32: {largest < 0.01f}");
        Console.WriteLine($"{lstm.WeightFormat}; the state dict keeps the float32 values");
        // end-example
    }
}
