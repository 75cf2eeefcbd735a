namespace MoESdk
{
    /// <summary>
    /// Where each MOE diagnostic is explained: its row in the package README's tables, which hold the problem and the fix.
    /// Compiled into the build tasks and the source generator, so both link their diagnostics the same way.
    /// </summary>
    internal static class DiagnosticHelp
    {
        /// <summary>The package README; the targets files name the same page (their _MoEHelpLink property).</summary>
        private const string Page = "https://github.com/moesdk/moesdk/blob/main/msbuild/MoESdk.Build/README.md";

        /// <summary>The link to the explanation of <paramref name="code"/> (e.g. MOE1004).</summary>
        public static string LinkFor(string code) => Page + "#" + code;
    }
}
