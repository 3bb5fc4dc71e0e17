using System.Diagnostics;

namespace Recurrent.Benchmarks.Compare;

/// <summary>Runs a child process to completion, capturing stdout and stderr; children run one at a time, never in parallel.</summary>
internal static class ChildProcess
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(10);

    public static (int ExitCode, string Stdout, string Stderr) Run(
        string fileName, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            // Only this child (and what it started) is ended, by its id.
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return (-1, stdout.Result, stderr.Result + $"\n(killed after {Timeout.TotalMinutes} minutes)");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// How to start this program again with other arguments: its apphost directly, or <c>dotnet Recurrent.Benchmarks.dll</c>
    /// when it was started through the dotnet host.
    /// </summary>
    public static (string FileName, string[] LeadingArguments) Self()
    {
        string processPath = Environment.ProcessPath ?? throw new InvalidOperationException("The process path is unknown.");
        return Path.GetFileNameWithoutExtension(processPath) == "dotnet"
            ? (processPath, [typeof(ChildProcess).Assembly.Location])
            : (processPath, []);
    }

    /// <summary>The last non-empty line of a child's stderr: usually the error message itself.</summary>
    public static string LastLine(string text)
    {
        string? last = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        return string.IsNullOrEmpty(last) ? "(no output)" : last;
    }
}
