using System.ComponentModel;

namespace MoESdk.Conversion;

/// <summary>
/// The routers the partition methods (factor, cluster, coact) can use; tomoe trains its own Gumbel router. Named like
/// <see cref="MoEMethod"/>: the member name in lowercase (analytic, par), described by its <see cref="DescriptionAttribute"/>.
/// </summary>
public enum MoERouter
{
    /// <summary>Fitted to the experts on the calibration text: no training.</summary>
    [Description("training-free, seconds")]
    Analytic,

    /// <summary>FactorLLM's prior-approximate router, trained from the analytic fit.</summary>
    [Description("FactorLLM prior-approximate training, minutes")]
    Par,
}
