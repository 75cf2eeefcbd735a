using System.ComponentModel;
using System.Reflection;

namespace MoESdk.Conversion;

/// <summary>
/// The names and descriptions of the conversion's choices (<see cref="MoEMethod"/>, <see cref="MoERouter"/>), read from
/// the enums themselves: a choice's name is its member name in lowercase, its description its <see cref="DescriptionAttribute"/>.
/// </summary>
internal static class ConversionChoice
{
    public static IReadOnlyList<T> All<T>() where T : struct, Enum => Enum.GetValues<T>();

    public static string Name<T>(T choice) where T : struct, Enum => choice.ToString().ToLowerInvariant();

    public static string Description<T>(T choice) where T : struct, Enum =>
        typeof(T).GetField(choice.ToString())?.GetCustomAttribute<DescriptionAttribute>()?.Description
            ?? throw new ArgumentOutOfRangeException(nameof(choice), choice, $"{typeof(T).Name} has no such member.");

    /// <summary>The names, comma-separated: <c>factor, cluster, coact, tomoe</c>.</summary>
    public static string Names<T>() where T : struct, Enum => string.Join(", ", All<T>().Select(Name));

    /// <summary>Every choice with its description: <c>factor (FactorLLM: …), cluster (…)</c>.</summary>
    public static string Described<T>() where T : struct, Enum => string.Join(", ", All<T>().Select(c => $"{Name(c)} ({Description(c)})"));

    /// <summary>The choice named <paramref name="name"/> (case-insensitive); member names only, never numbers.</summary>
    public static bool TryParse<T>(string name, out T choice) where T : struct, Enum
    {
        foreach (T candidate in All<T>())
        {
            if (string.Equals(Name(candidate), name, StringComparison.OrdinalIgnoreCase))
            {
                choice = candidate;
                return true;
            }
        }
        choice = default;
        return false;
    }
}
