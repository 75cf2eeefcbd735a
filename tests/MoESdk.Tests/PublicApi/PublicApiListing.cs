using System.Reflection;

namespace MoESdk.Tests.PublicApi;

/// <summary>
/// The public surface of an assembly as sorted text lines (each public type, then its public members), so a
/// checked-in copy makes every addition or removal show up in review.
/// </summary>
public static class PublicApiListing
{
    /// <summary>Set to 1 to rewrite the checked-in baselines from the assemblies under test.</summary>
    public const string UpdateVariable = "MOESDK_UPDATE_PUBLIC_API";

    private const BindingFlags Declared =
        BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    public static IReadOnlyList<string> Of(Assembly assembly) =>
        [.. assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal).SelectMany(Lines)];

    /// <summary>
    /// Compares the assembly's surface with the baseline in the test project's PublicApi folder and fails naming what
    /// was added and removed; with <see cref="UpdateVariable"/>=1 it rewrites the baseline instead. The folder comes from
    /// the test assembly's metadata, not from the source file's compiled path: a CI build maps those to /_/.
    /// </summary>
    public static void MatchesBaseline(Assembly assembly, string baselineName)
    {
        string folder = typeof(PublicApiListing).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .Single(a => a.Key == "PublicApiBaselines").Value!;
        var baseline = Path.Combine(folder, baselineName);
        var actual = Of(assembly);
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            File.WriteAllLines(baseline, actual);
            return;
        }

        var expected = File.Exists(baseline) ? File.ReadAllLines(baseline) : [];
        var added = actual.Except(expected, StringComparer.Ordinal).ToList();
        var removed = expected.Except(actual, StringComparer.Ordinal).ToList();
        if (added.Count == 0 && removed.Count == 0)
        {
            return;
        }

        Assert.Fail(
            $"The public API of {assembly.GetName().Name} differs from {baseline}.\n" +
            $"Added ({added.Count}):\n  {string.Join("\n  ", added)}\n" +
            $"Removed ({removed.Count}):\n  {string.Join("\n  ", removed)}\n" +
            $"If the change is deliberate, regenerate the baselines: {UpdateVariable}=1 dotnet test MoESdk.sln " +
            "--filter FullyQualifiedName~PublicApi");
    }

    private static IEnumerable<string> Lines(Type type)
    {
        yield return $"{Kind(type)} {Name(type)}";
        foreach (var member in type.GetMembers(Declared)
                     .Where(m => !IsHidden(m))
                     .Select(m => $"{Name(type)}::{Describe(m)}")
                     .Distinct(StringComparer.Ordinal)
                     .OrderBy(line => line, StringComparer.Ordinal))
        {
            yield return member;
        }
    }

    // Nested types are listed as types of their own; property and event accessors are listed through their
    // property or event; compiler-generated members (a record's clone method) are no one's API.
    private static bool IsHidden(MemberInfo member) =>
        member is Type
        || member.Name.StartsWith('<')
        || member is MethodInfo { IsSpecialName: true } method && !method.Name.StartsWith("op_", StringComparison.Ordinal);

    private static string Kind(Type type) =>
        type.IsInterface ? "interface"
        : type.IsEnum ? "enum"
        : type.IsValueType ? "struct"
        : typeof(Delegate).IsAssignableFrom(type) ? "delegate"
        : type.IsAbstract && type.IsSealed ? "static class"
        : "class";

    private static string Describe(MemberInfo member) => member switch
    {
        ConstructorInfo c => $"ctor({Parameters(c)})",
        MethodInfo m => $"{(m.IsStatic ? "static " : "")}{Name(m.ReturnType)} {m.Name}{Generic(m)}({Parameters(m)})",
        PropertyInfo p => $"{(p.GetMethod?.IsStatic ?? p.SetMethod?.IsStatic ?? false ? "static " : "")}{Name(p.PropertyType)} {p.Name} {{{Accessors(p)} }}",
        FieldInfo f => $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{Name(f.FieldType)} {f.Name}",
        EventInfo e => $"event {Name(e.EventHandlerType!)} {e.Name}",
        _ => member.ToString() ?? member.Name,
    };

    private static string Accessors(PropertyInfo property)
    {
        var get = property.GetMethod is { IsPublic: true } ? " get;" : "";
        var set = property.SetMethod is { IsPublic: true } setter
            ? setter.ReturnParameter.GetRequiredCustomModifiers().Any(m => m.Name == "IsExternalInit") ? " init;" : " set;"
            : "";
        return get + set;
    }

    private static string Generic(MethodInfo method) =>
        method.IsGenericMethodDefinition ? $"<{string.Join(", ", method.GetGenericArguments().Select(a => a.Name))}>" : "";

    private static string Parameters(MethodBase method) =>
        string.Join(", ", method.GetParameters().Select(p => $"{Name(p.ParameterType)} {p.Name}"));

    private static string Name(Type type)
    {
        if (type.IsGenericParameter)
        {
            return type.Name;
        }

        if (type.IsArray)
        {
            return $"{Name(type.GetElementType()!)}[]";
        }

        if (type.IsByRef || type.IsPointer)
        {
            return $"{Name(type.GetElementType()!)}{(type.IsByRef ? "&" : "*")}";
        }

        var name = type.IsNested ? $"{Name(type.DeclaringType!)}.{type.Name}" : $"{type.Namespace}.{type.Name}";
        if (!type.IsGenericType)
        {
            return name;
        }

        var tick = name.IndexOf('`', StringComparison.Ordinal);
        var arguments = type.GetGenericArguments().Skip(type.IsNested ? type.DeclaringType!.GetGenericArguments().Length : 0);
        return $"{(tick < 0 ? name : name[..tick])}<{string.Join(", ", arguments.Select(Name))}>";
    }
}
