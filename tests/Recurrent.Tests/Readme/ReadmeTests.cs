using System.Text.RegularExpressions;
using Recurrent.Tests.PyTorch;

namespace Recurrent.Tests.Readme;

[CollectionDefinition(nameof(ConsoleAndDirectory), DisableParallelization = true)]
public sealed class ConsoleAndDirectory
{
}

/// <summary>README.md's C# examples are the code in ReadmeExamples.cs, and running them prints what README.md shows.</summary>
[Collection(nameof(ConsoleAndDirectory))]
public partial class ReadmeTests
{
    private static readonly string RepositoryRoot = FindRepositoryRoot();

    private static string Readme => File.ReadAllText(Path.Combine(RepositoryRoot, "README.md"));

    [Theory]
    [InlineData("quick-start")]
    [InlineData("load-pytorch")]
    [InlineData("variable-length")]
    [InlineData("streaming")]
    [InlineData("buffers")]
    [InlineData("bfloat16")]
    public void ReadmeExample_IsTheCompiledExample(string name)
    {
        string source = File.ReadAllText(Path.Combine(RepositoryRoot, "tests", "Recurrent.Tests", "Readme", "ReadmeExamples.cs"));
        Match region = Regex.Match(source, $@"// begin-example: {name}\r?\n(?<code>.*?)\r?\n\s*// end-example", RegexOptions.Singleline);
        Assert.True(region.Success, $"ReadmeExamples.cs has no region '{name}'.");

        string[] readmeLines = Block(Readme, "example", name).Where(l => !l.StartsWith("using ", StringComparison.Ordinal)).ToArray();
        Assert.Equal(Normalize(readmeLines), Normalize(Dedent(region.Groups["code"].Value.Split('\n'))));
    }

    [Theory]
    [InlineData("quick-start")]
    [InlineData("variable-length")]
    [InlineData("streaming")]
    [InlineData("buffers")]
    [InlineData("bfloat16")]
    public void Example_PrintsWhatTheReadmeShows(string name)
    {
        string[] expected = Block(Readme, "output", name);
        Action example = name switch
        {
            "quick-start" => ReadmeExamples.QuickStart,
            "variable-length" => ReadmeExamples.VariableLength,
            "buffers" => ReadmeExamples.Buffers,
            "bfloat16" => ReadmeExamples.BFloat16,
            _ => ReadmeExamples.Streaming,
        };
        TextWriter original = Console.Out;
        var captured = new StringWriter();
        Console.SetOut(captured);
        try
        {
            example();
        }
        finally
        {
            Console.SetOut(original);
        }

        Assert.Equal(Normalize(expected), Normalize(captured.ToString().Split('\n')));
    }

    [Fact]
    public void LoadPyTorch_ReproducesPyTorchsOutputAndSavesACopy()
    {
        const string Model = "model_lstm_1layer_h20_in16";
        ReferenceCase io = ReferenceCase.Load(Model + ".io");
        string directory = Directory.CreateTempSubdirectory("recurrent-readme-").FullName;
        string original = Environment.CurrentDirectory;
        try
        {
            File.Copy(Path.Combine(ReferenceCase.Directory, Model + ".safetensors"), Path.Combine(directory, "lstm.safetensors"));
            Environment.CurrentDirectory = directory;

            var (output, h, c) = ReadmeExamples.LoadPyTorch(io["input"]!);

            PyTorchReferenceTests.AssertMatches(io, "output", output);
            PyTorchReferenceTests.AssertMatches(io, "h_n", h);
            PyTorchReferenceTests.AssertMatches(io, "c_n", c);
            StateDict saved = SafeTensors.Load("copy.safetensors");
            StateDict pytorch = SafeTensors.Load("lstm.safetensors");
            // Saved in the module's (PyTorch's registration) order; PyTorch's writer sorts by name, so compare sets there.
            Assert.Equal(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"], saved.Keys);
            Assert.Equal(pytorch.Keys.Order(), saved.Keys.Order());
            foreach (var (key, tensor) in pytorch)
            {
                Assert.Equal(TestTensors.ToArray(tensor), TestTensors.ToArray(saved[key]));
            }
        }
        finally
        {
            Environment.CurrentDirectory = original;
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>The lines of the fenced block that follows the README marker "&lt;!-- KIND: NAME --&gt;".</summary>
    private static string[] Block(string readme, string kind, string name)
    {
        Match block = Regex.Match(readme, $@"<!-- {kind}: {name} -->\r?\n```\w*\r?\n(?<body>.*?)\r?\n```", RegexOptions.Singleline);
        Assert.True(block.Success, $"README.md has no block marked '{kind}: {name}'.");
        return block.Groups["body"].Value.Split('\n');
    }

    private static string[] Dedent(string[] lines)
    {
        int indent = lines.Where(l => l.Trim().Length > 0).Min(l => l.Length - l.TrimStart().Length);
        return lines.Select(l => l.Length >= indent ? l[indent..] : l.TrimStart()).ToArray();
    }

    private static string Normalize(IEnumerable<string> lines) =>
        string.Join("\n", lines.Select(l => l.TrimEnd())).Trim();

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Recurrent.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Recurrent.sln above {AppContext.BaseDirectory}.");
    }
}
