using System.Collections.Generic;
using System.Text.RegularExpressions;

namespace MoESdk.Build
{
    /// <summary>
    /// Rewrites a converter message in the vocabulary of the project file: the converter names options by its flags
    /// (<c>--experts-per-token</c>), a build user wrote item metadata (<c>ExpertsPerToken</c>). Flags the task did not pass
    /// stay as they are: they came from <c>MoEConverterArguments</c>, where the user wrote them as flags.
    /// </summary>
    internal static class ConverterVocabulary
    {
        private static readonly Regex Flag = new Regex(@"(?<![\w-])--[a-z][a-z0-9-]*", RegexOptions.CultureInvariant);

        /// <summary><paramref name="message"/> with each flag of <paramref name="switches"/> replaced by its metadata.</summary>
        public static string InMetadata(string message, IEnumerable<(string Flag, string Metadata)> switches)
        {
            var metadata = new Dictionary<string, string>(System.StringComparer.Ordinal);
            foreach ((string flag, string name) in switches)
            {
                metadata[flag] = name;
            }
            return Flag.Replace(message, match => metadata.TryGetValue(match.Value, out string? name) ? name : match.Value);
        }
    }
}
