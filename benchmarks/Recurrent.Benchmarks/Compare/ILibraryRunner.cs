namespace Recurrent.Benchmarks.Compare;

/// <summary>One library set up for one shape at one thread count, inside a <c>compare-worker</c> process.</summary>
internal interface ILibraryRunner : IDisposable
{
    /// <summary>The library's version as it reports it.</summary>
    string Version { get; }

    /// <summary>One timed run: one Forward over the sequence, or (streaming) one call per step from a zero state.</summary>
    void Run();

    /// <summary>Output, h_n and c_n of the last <see cref="Run"/>, copied out.</summary>
    CaseOutputs LastOutputs();
}
