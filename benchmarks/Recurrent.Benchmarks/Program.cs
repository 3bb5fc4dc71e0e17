using BenchmarkDotNet.Running;
using Recurrent.Benchmarks.Compare;

// "compare-worker" runs one library on one shape for the comparison with peers.
// Every other argument list goes to BenchmarkDotNet.
return args switch
{
    [CompareWorker.Verb, .. var rest] => CompareWorker.Run(rest),
    _ => RunBenchmarks(args),
};

static int RunBenchmarks(string[] args)
{
    BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    return 0;
}
