using BenchmarkDotNet.Running;
using Recurrent.Benchmarks.Compare;

// "compare" is the side-by-side comparison with peers; "compare-worker" is its hidden per-library child process;
// "weight-formats" times Float32 against BFloat16 weights in one process. Every other argument list goes to BenchmarkDotNet.
return args switch
{
    [CompareCommand.Verb, .. var rest] => CompareCommand.Run(rest),
    [CompareWorker.Verb, .. var rest] => CompareWorker.Run(rest),
    [WeightFormatPairs.Verb, .. var rest] => WeightFormatPairs.Run(rest),
    _ => RunBenchmarks(args),
};

static int RunBenchmarks(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    return 0;
}
