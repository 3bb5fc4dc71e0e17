using Microsoft.ML.OnnxRuntime;

namespace Recurrent.Tests.Onnx;

/// <summary>Runs an in-memory ONNX model once in ONNX Runtime (single-threaded) and copies every requested output out.</summary>
internal static class OnnxRuntimeRunner
{
    /// <summary>The trait of the tests that run ONNX Runtime (a native library, the peer), which the emulated Arm64 run
    /// leaves out (tests/arm64): its native code crashes under user-mode emulation, and it tests the peer, not us.</summary>
    public const string Trait = "Peer";

    /// <summary>The value of <see cref="Trait"/> on those tests.</summary>
    public const string TraitValue = "OnnxRuntime";

    public static Dictionary<string, (float[] Data, long[] Shape)> Run(
        byte[] model, IReadOnlyDictionary<string, (float[] Data, long[] Shape)> inputs, params string[] outputNames)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(model, options);
        return Run(session, inputs, outputNames);
    }

    public static Dictionary<string, (float[] Data, long[] Shape)> Run(
        InferenceSession session, IReadOnlyDictionary<string, (float[] Data, long[] Shape)> inputs, params string[] outputNames)
    {
        var values = new Dictionary<string, OrtValue>();
        try
        {
            foreach (var (name, (data, shape)) in inputs)
            {
                values.Add(name, OrtValue.CreateTensorValueFromMemory(data, shape));
            }

            using var runOptions = new RunOptions();
            using var results = session.Run(runOptions, values, outputNames);
            var outputs = new Dictionary<string, (float[], long[])>();
            int i = 0;
            foreach (OrtValue result in results)
            {
                outputs.Add(outputNames[i++], (result.GetTensorDataAsSpan<float>().ToArray(), result.GetTensorTypeAndShape().Shape));
            }

            return outputs;
        }
        finally
        {
            foreach (OrtValue value in values.Values)
            {
                value.Dispose();
            }
        }
    }
}
