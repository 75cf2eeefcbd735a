using System.Text.RegularExpressions;

namespace MoESdk.Build
{
    /// <summary>
    /// One line the converter prints: an error in MSBuild's format (<c>error MOE1004: message</c>, what
    /// <c>moe --msbuild</c> prints) or anything else (progress, the quality report).
    /// </summary>
    internal readonly struct ConverterOutputLine
    {
        private static readonly Regex ErrorLine = new Regex(@"^\s*error (?<code>MOE\d{4}): (?<text>.*)$", RegexOptions.CultureInvariant);

        private ConverterOutputLine(string? code, string text)
        {
            Code = code;
            Text = text;
        }

        /// <summary>The error code, or null for a line that is not an error.</summary>
        public string? Code { get; }

        /// <summary>The error message or the line, trimmed.</summary>
        public string Text { get; }

        public static ConverterOutputLine Parse(string line)
        {
            Match match = ErrorLine.Match(line);
            return match.Success
                ? new ConverterOutputLine(match.Groups["code"].Value, match.Groups["text"].Value.Trim())
                : new ConverterOutputLine(null, line.Trim());
        }
    }
}
