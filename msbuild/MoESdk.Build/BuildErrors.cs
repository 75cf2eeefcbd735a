namespace MoESdk.Build
{
    /// <summary>Codes of the errors MoEModel items can cause; README.md lists them with their fixes.</summary>
    internal static class BuildErrors
    {
        public const string MissingModel = "MOE1001";
        public const string UnsupportedModel = "MOE1002";
        public const string InvalidSettings = "MOE1003";
        public const string CorruptWeights = "MOE1004";
        public const string MissingCalibration = "MOE1005";
        public const string ConverterFailed = "MOE1006";
        public const string ConverterNotFound = "MOE1007";

        /// <summary>Warning: the item sets TopK, the old name of ExpertsPerToken.</summary>
        public const string DeprecatedTopK = "MOE1011";
    }
}
