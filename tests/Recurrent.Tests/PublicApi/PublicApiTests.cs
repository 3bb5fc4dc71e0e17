using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace Recurrent.Tests.PublicApi;

/// <summary>
/// The library's public surface equals tests/Recurrent.Tests/PublicApi/PublicApi.approved.txt, so it changes only on
/// purpose. After an intended change, run the tests with RECURRENT_ACCEPT_PUBLIC_API=1 to rewrite the file, and
/// commit it with the change.
/// </summary>
public class PublicApiTests
{
    [Fact]
    public void PublicApi_EqualsTheApprovedFile()
    {
        string approvedPath = Path.Combine(FindRepositoryRoot(), "tests", "Recurrent.Tests", "PublicApi", "PublicApi.approved.txt");
        string actual = Describe(typeof(Lstm).Assembly);
        if (Environment.GetEnvironmentVariable("RECURRENT_ACCEPT_PUBLIC_API") == "1")
        {
            File.WriteAllText(approvedPath, actual);
        }

        string approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath).ReplaceLineEndings("\n") : "";
        string[] expectedLines = approved.Split('\n'), actualLines = actual.Split('\n');
        string added = string.Join("\n", actualLines.Except(expectedLines).Select(l => "+ " + l));
        string removed = string.Join("\n", expectedLines.Except(actualLines).Select(l => "- " + l));
        Assert.True(
            approved == actual,
            $"The public API changed. If on purpose, rerun with RECURRENT_ACCEPT_PUBLIC_API=1 and commit {approvedPath}.\n{removed}\n{added}");
    }

    /// <summary>One line per public type and member, sorted, with full signatures and tuple element names.</summary>
    internal static string Describe(Assembly assembly)
    {
        var lines = new List<string>();
        foreach (Type type in assembly.GetExportedTypes())
        {
            string kind = type.IsEnum ? "enum" : type.IsValueType ? "struct" : type.IsInterface ? "interface"
                : type.IsAbstract && type.IsSealed ? "static class" : type.IsAbstract ? "abstract class" : type.IsSealed ? "sealed class" : "class";
            string bases = type.BaseType is { } b && b != typeof(object) && b != typeof(Enum) && b != typeof(ValueType) ? " : " + Name(b) : "";
            string interfaces = string.Join(", ", type.GetInterfaces().Select(Name).Order(StringComparer.Ordinal));
            lines.Add($"{kind} {type.FullName}{bases}{(interfaces.Length > 0 ? (bases.Length > 0 ? ", " : " : ") + interfaces : "")}");
            const BindingFlags Flags = BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (MemberInfo member in type.GetMembers(Flags))
            {
                string? line = member switch
                {
                    ConstructorInfo c => $"  ctor({Parameters(c.GetParameters())})",
                    MethodInfo m when !m.IsSpecialName => $"  {(m.IsStatic ? "static " : "")}{Returns(m.ReturnParameter)} {m.Name}{Generic(m)}({Parameters(m.GetParameters())})",
                    PropertyInfo p => $"  {(p.GetMethod?.IsStatic == true ? "static " : "")}{Name(p.PropertyType)} {p.Name} {{ {(p.GetMethod?.IsPublic == true ? "get; " : "")}{(p.SetMethod?.IsPublic == true ? (p.SetMethod.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.Name == "IsExternalInit") ? "init; " : "set; ") : "")}}}",
                    FieldInfo f when type.IsEnum && f.IsStatic => $"  {f.Name} = {Convert.ToInt64(f.GetRawConstantValue(), System.Globalization.CultureInfo.InvariantCulture)}",
                    FieldInfo f => $"  {(f.IsStatic ? "static " : "")}{Name(f.FieldType)} {f.Name}",
                    _ => null,
                };
                if (line is not null)
                {
                    lines.Add($"{type.FullName}:{line}");
                }
            }
        }

        lines.Sort(StringComparer.Ordinal);
        var text = new StringBuilder();
        foreach (string line in lines)
        {
            text.Append(line).Append('\n');
        }

        return text.ToString();
    }

    private static string Generic(MethodInfo m) =>
        m.IsGenericMethodDefinition ? "<" + string.Join(", ", m.GetGenericArguments().Select(Name)) + ">" : "";

    private static string Parameters(ParameterInfo[] parameters) => string.Join(", ", parameters.Select(p =>
        $"{(p.IsOut ? "out " : p.ParameterType.IsByRef ? "ref " : "")}{Returns(p)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : "")}"));

    /// <summary>A parameter's or return value's type, with the tuple element names the compiler recorded.</summary>
    private static string Returns(ParameterInfo p)
    {
        string type = Name(p.ParameterType);
        return p.GetCustomAttribute<TupleElementNamesAttribute>() is { } names
            ? $"{type} [{string.Join(", ", names.TransformNames.Select(n => n ?? "_"))}]"
            : type;
    }

    private static string Name(Type t)
    {
        if (t.IsByRef)
        {
            return Name(t.GetElementType()!);
        }

        if (t.IsArray)
        {
            return Name(t.GetElementType()!) + "[]";
        }

        if (!t.IsGenericType)
        {
            return t.IsGenericParameter ? t.Name : t.FullName ?? t.Name;
        }

        string name = t.GetGenericTypeDefinition().FullName!;
        name = name[..name.IndexOf('`', StringComparison.Ordinal)];
        return $"{name}<{string.Join(", ", t.GetGenericArguments().Select(Name))}>";
    }

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
