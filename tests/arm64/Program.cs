using System.Collections.Concurrent;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

// Discovers and runs every xunit test of Recurrent.Tests in this process through xunit's own framework classes (the
// VSTest host that `dotnet test` uses cannot run under user-mode emulation), leaving out the tests that run ONNX
// Runtime (trait Peer = OnnxRuntime: the peer's native code, not ours) and those that read what the host kernel holds
// for the process (trait Observes = HostKernel: qemu-user keeps madvise's advice from it). Prints each failure and a closing
// "N passed, N failed, N skipped" line (an error outside a test, or fewer results than test cases, counts as a failure);
// exits 1 on a failure or when nothing passed. Arguments: substrings of class names to run only those (all by default).
var assembly = typeof(Recurrent.Tests.Kernels.GemmTests).Assembly;
using var framework = new XunitTestFramework(new MessageSink(_ => { }));

var cases = new List<ITestCase>();
int leftOut = 0, leftOutHost = 0;
using (var discoverer = framework.GetDiscoverer(new ReflectionAssemblyInfo(assembly)))
using (var discovered = new ManualResetEventSlim())
{
    discoverer.Find(includeSourceInformation: false, new MessageSink(message =>
    {
        if (message is ITestCaseDiscoveryMessage { TestCase: var testCase })
        {
            bool runsPeer = testCase.Traits.TryGetValue("Peer", out var peers) && peers.Contains("OnnxRuntime");
            bool observesHost = testCase.Traits.TryGetValue("Observes", out var observed) && observed.Contains("HostKernel");
            bool selected = args.Length == 0 || args.Any(name => testCase.TestMethod.TestClass.Class.Name.Contains(name, StringComparison.Ordinal));
            if (runsPeer)
            {
                leftOut++;
            }
            else if (observesHost)
            {
                leftOutHost++;
            }
            else if (selected)
            {
                cases.Add(testCase);
            }
        }
        else if (message is IDiscoveryCompleteMessage)
        {
            discovered.Set();
        }
    }), new FrameworkOptions());
    discovered.Wait();
}

Console.WriteLine($"{cases.Count} test cases on {System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture} ({leftOut} that run ONNX Runtime and {leftOutHost} that read the host kernel's memory map left out)");
int passed = 0, failed = 0, skipped = 0;
bool trace = Environment.GetEnvironmentVariable("ARM64_RUNNER_TRACE") == "1"; // each test's start, to stderr: finds a crash
using (var executor = framework.GetExecutor(assembly.GetName()))
using (var finished = new ManualResetEventSlim())
{
    executor.RunTests(cases, new MessageSink(message =>
    {
        switch (message)
        {
            case ITestStarting starting when trace:
                Console.Error.WriteLine($"[START] {starting.Test.DisplayName}");
                break;
            case ITestPassed:
                Interlocked.Increment(ref passed);
                break;
            case ITestSkipped skip:
                Interlocked.Increment(ref skipped);
                Console.WriteLine($"[SKIP] {skip.Test.DisplayName}: {skip.Reason}");
                break;
            case ITestFailed failure:
                Interlocked.Increment(ref failed);
                Console.WriteLine($"[FAIL] {failure.Test.DisplayName}: {string.Join(" | ", failure.Messages)}\n{string.Join("\n", failure.StackTraces)}");
                break;
            case IFailureInformation error: // an error outside a test, or a fixture's cleanup that failed: a failure too
                Interlocked.Increment(ref failed);
                Console.WriteLine($"[FAIL] {error.GetType().Name}: {string.Join(" | ", error.Messages)}\n{string.Join("\n", error.StackTraces)}");
                break;
            case ITestAssemblyFinished:
                finished.Set();
                break;
        }
    }), new FrameworkOptions());
    finished.Wait();
}

// Every test case gives at least one result (a theory whose data was not enumerated at discovery gives one per row).
if (passed + failed + skipped < cases.Count)
{
    Console.WriteLine($"[FAIL] {cases.Count} test cases gave only {passed + failed + skipped} results");
    failed++;
}

Console.WriteLine($"{passed} passed, {failed} failed, {skipped} skipped");
return failed == 0 && passed > 0 ? 0 : 1;

/// <summary>Hands every message of xunit's discovery or execution to a callback.</summary>
internal sealed class MessageSink(Action<IMessageSinkMessage> onMessage) : LongLivedMarshalByRefObject, IMessageSink
{
    public bool OnMessage(IMessageSinkMessage message)
    {
        onMessage(message);
        return true;
    }
}

/// <summary>Discovery and execution options: xunit's defaults for every setting (no value set).</summary>
internal sealed class FrameworkOptions : ITestFrameworkDiscoveryOptions, ITestFrameworkExecutionOptions
{
    private readonly ConcurrentDictionary<string, object?> _values = new();

    public TValue GetValue<TValue>(string name) => _values.TryGetValue(name, out object? value) && value is TValue typed ? typed : default!;

    public void SetValue<TValue>(string name, TValue value) => _values[name] = value;
}
