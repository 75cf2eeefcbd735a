using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace MoESdk.Generators.Model;

/// <summary>A place in an additional file, kept as values (a <see cref="Location"/> is not equatable across runs).</summary>
internal sealed record LocationInfo(string FilePath, TextSpan Span, LinePositionSpan LineSpan)
{
    public static LocationInfo StartOf(string filePath) => new(filePath, default, default);

    public Location ToLocation() => Location.Create(FilePath, Span, LineSpan);
}
