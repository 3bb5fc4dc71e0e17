namespace Recurrent;

/// <summary>
/// PyTorch's <c>module.train()</c> and <c>module.eval()</c>, returning the module itself with its own type so calls
/// chain: <c>var lstm = new Lstm(10, 20).Eval();</c>.
/// </summary>
public static class RecurrentModuleModes
{
    /// <summary>Sets training mode (<paramref name="mode"/> true, the default) or evaluation mode.</summary>
    /// <returns><paramref name="module"/>.</returns>
    public static T Train<T>(this T module, bool mode = true)
        where T : RecurrentModule
    {
        ArgumentNullException.ThrowIfNull(module);
        module.IsTraining = mode;
        return module;
    }

    /// <summary>Sets evaluation mode: dropout is off.</summary>
    /// <returns><paramref name="module"/>.</returns>
    public static T Eval<T>(this T module)
        where T : RecurrentModule => module.Train(false);
}
