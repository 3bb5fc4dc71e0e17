namespace Recurrent.Tests;

/// <summary>Asserts an argument error: its exact type, the argument it names, and words its message must contain.</summary>
internal static class ArgumentAssert
{
    public static T Throws<T>(string paramName, Action call, params string[] messageParts)
        where T : ArgumentException
    {
        var ex = Assert.Throws<T>(call);
        Assert.Equal(paramName, ex.ParamName);
        foreach (string part in messageParts)
        {
            Assert.Contains(part, ex.Message, StringComparison.Ordinal);
        }

        return ex;
    }
}
