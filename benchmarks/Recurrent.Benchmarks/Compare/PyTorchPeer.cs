using System.Globalization;

namespace Recurrent.Benchmarks.Compare;

/// <summary>
/// PyTorch, through benchmarks/pytorch_peer.py run by a Python that has torch: /usr/bin/python3 first (Debian's
/// python3-torch), then <c>python3</c> on PATH. The script runs one shape at one thread count per process, with
/// OPENBLAS_NUM_THREADS set to that thread count (Debian's torch does its matrix products in OpenBLAS's own pthread
/// pool, which torch.set_num_threads does not size: at 1 this keeps the pool off the second core, at 2 it lets the
/// products use both; they ran on one thread at "2 threads" before 2026-12-01), and OMP_WAIT_POLICY=PASSIVE so that
/// torch's idle OpenMP threads sleep instead of spinning: with the default spinning, PyTorch at 2 threads ran 5 to 30
/// times slower than at 1 thread here (L3: 1.3 s against 0.23 s).
/// </summary>
internal sealed class PyTorchPeer
{
    private static readonly string[] Candidates = ["/usr/bin/python3", "python3"];

    /// <summary>
    /// Prints torch's version, then the BLAS library mapped into the process once torch has run a matrix product
    /// (OpenBLAS's own library if it is one of them, else every library with "blas" in its path). Libraries under a
    /// numpy directory are left out: a pip-installed numpy maps the OpenBLAS bundled in its wheel (numpy.libs), which
    /// torch never calls (its symbols stay local to numpy's extension), and which would otherwise hide a torch on the
    /// reference BLAS.
    /// </summary>
    private const string Probe =
        "import numpy, torch\n" +
        "torch.ones(64, 64) @ torch.ones(64, 64)\n" +
        "print(torch.__version__)\n" +
        "blas = sorted({line.split()[-1] for line in open('/proc/self/maps') if 'blas' in line.lower() and 'numpy' not in line.lower()})\n" +
        "print(', '.join([path for path in blas if 'openblas' in path.split('/')[-1]] or blas) or 'unknown')\n";

    private PyTorchPeer(string python, string version, string blas, string script)
    {
        Python = python;
        Version = version;
        Blas = blas;
        Script = script;
    }

    public string Python { get; }

    /// <summary>torch.__version__ as the script's Python reports it.</summary>
    public string Version { get; }

    /// <summary>The BLAS library (or libraries) torch's process loaded: OpenBLAS, or the slow reference BLAS.</summary>
    public string Blas { get; }

    /// <summary>Whether torch's matrix products run on the reference BLAS: no OpenBLAS mapped, and a library named
    /// libblas.* (Debian's libblas3, when libopenblas0-pthread is not installed), ~24× slower on L1 (2026-12-02: 1.95 s
    /// a call against 81–85 ms), so its times say nothing about PyTorch. A torch on MKL (no BLAS library of either name
    /// mapped: "unknown") is not flagged.</summary>
    public bool OnReferenceBlas =>
        !Blas.Contains("openblas", StringComparison.OrdinalIgnoreCase) &&
        Blas.Split(", ").Any(path => Path.GetFileName(path).StartsWith("libblas.", StringComparison.Ordinal));

    /// <summary>What to tell the reader when <see cref="OnReferenceBlas"/>.</summary>
    public const string ReferenceBlasWarning =
        "torch runs on the reference BLAS, not OpenBLAS: its times are many times slower than a normal install's (Debian: apt-get install libopenblas0-pthread)";

    public string Script { get; }

    /// <summary>The first candidate Python that imports torch and numpy; null, with every candidate's failure, when none does.</summary>
    public static PyTorchPeer? Find(string script, out string reason)
    {
        var failures = new List<string>();
        if (!File.Exists(script))
        {
            reason = $"{script} is missing";
            return null;
        }

        foreach (string python in Candidates)
        {
            try
            {
                var (exitCode, stdout, stderr) = ChildProcess.Run(python, ["-c", Probe]);
                string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (exitCode == 0 && lines.Length == 2)
                {
                    reason = "";
                    return new PyTorchPeer(python, lines[0], lines[1], script);
                }

                failures.Add($"{python}: {ChildProcess.LastLine(stderr)}");
            }
            catch (System.ComponentModel.Win32Exception ex)
            {
                failures.Add($"{python}: {ex.Message}");
            }
        }

        reason = string.Join("; ", failures);
        return null;
    }

    public WorkerResult Run(string casePath, int threads, double tolerance, TimingPolicy timing)
    {
        string[] arguments =
        [
            Script, "--case", casePath, "--threads", threads.ToString(CultureInfo.InvariantCulture),
            "--tolerance", tolerance.ToString("R", CultureInfo.InvariantCulture), .. timing.ToArgs(),
        ];
        var environment = new Dictionary<string, string>
        {
            ["OPENBLAS_NUM_THREADS"] = threads.ToString(CultureInfo.InvariantCulture), ["OMP_WAIT_POLICY"] = "PASSIVE",
        };
        var (exitCode, stdout, stderr) = ChildProcess.Run(Python, arguments, environment);
        return WorkerResult.FromOutput(stdout)
            ?? new WorkerResult(WorkerResult.Error, Reason: $"exit code {exitCode}: {ChildProcess.LastLine(stderr)}");
    }
}
