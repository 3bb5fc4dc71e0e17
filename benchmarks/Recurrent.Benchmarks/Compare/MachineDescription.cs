using System.Runtime.InteropServices;

namespace Recurrent.Benchmarks.Compare;

/// <summary>The machine and software a report was made on: CPU model (from /proc/cpuinfo), cores, OS, .NET, commit.</summary>
internal sealed record MachineDescription(string Cpu, int LogicalCores, string Os, string Runtime, string? Commit)
{
    public static MachineDescription Current(string repositoryRoot) => new(
        CpuModel(), Environment.ProcessorCount, RuntimeInformation.OSDescription, RuntimeInformation.FrameworkDescription, ReadCommit(repositoryRoot));

    private static string CpuModel()
    {
        const string CpuInfo = "/proc/cpuinfo";
        if (File.Exists(CpuInfo))
        {
            foreach (string line in File.ReadLines(CpuInfo))
            {
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':', StringComparison.Ordinal) is int colon and >= 0)
                {
                    return line[(colon + 1)..].Trim();
                }
            }
        }

        return $"unknown {RuntimeInformation.ProcessArchitecture} CPU";
    }

    /// <summary>The checked-out commit, "-dirty" when tracked files other than the command's own outputs (README.md and
    /// benchmarks/results, which an earlier run may have rewritten) have changes; null without git.</summary>
    private static string? ReadCommit(string repositoryRoot)
    {
        try
        {
            var (exitCode, stdout, _) = ChildProcess.Run("git", ["-C", repositoryRoot, "describe", "--always"]);
            if (exitCode != 0)
            {
                return null;
            }

            var (statusCode, changes, _) = ChildProcess.Run(
                "git", ["-C", repositoryRoot, "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)README.md", ":(exclude)benchmarks/results"]);
            return stdout.Trim() + (statusCode != 0 || changes.Trim().Length > 0 ? "-dirty" : "");
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }
}
