using System.Linq;
using Microsoft.CodeAnalysis;

namespace MoESdk.Generators.Model;

/// <summary>A diagnostic as equatable values, turned into a <see cref="Diagnostic"/> only when it is reported.</summary>
internal sealed record DiagnosticInfo(DiagnosticDescriptor Descriptor, LocationInfo Location, EquatableArray<string> Arguments)
{
    public static DiagnosticInfo Create(DiagnosticDescriptor descriptor, LocationInfo location, params string[] arguments) =>
        new(descriptor, location, new EquatableArray<string>(arguments));

    public Diagnostic ToDiagnostic() =>
        Diagnostic.Create(Descriptor, Location.ToLocation(), Arguments.Cast<object>().ToArray());
}
