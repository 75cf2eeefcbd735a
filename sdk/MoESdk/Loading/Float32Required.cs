using static TorchSharp.torch;

namespace MoESdk.Loading;

/// <summary>
/// Conversion and training compute in float32: a model held in bfloat16 or int8 (<see cref="LoadOptions.Precision"/>) is
/// refused up front with the fix, instead of failing deep in libtorch on mixed types.
/// </summary>
internal static class Float32Required
{
    /// <param name="model">The model, whose weights must be held in float32.</param>
    /// <param name="operation">What needs float32, as the message says it ("convert", "train").</param>
    /// <exception cref="ArgumentException">The weights are not float32.</exception>
    public static void Check(Modules.LlamaModel model, string operation)
    {
        if (model.HeldPrecision != Inference.DecodePrecision.Float32)
        {
            Refuse(model.HeldPrecision.ToString(), operation);
        }
    }

    /// <param name="type">The type the model's weights are held in.</param>
    /// <param name="operation">What needs float32, as the message says it ("convert", "train").</param>
    /// <exception cref="ArgumentException">The weights are not float32.</exception>
    public static void Check(ScalarType type, string operation)
    {
        if (type != ScalarType.Float32)
        {
            Refuse(type.ToString(), operation);
        }
    }

    private static void Refuse(string held, string operation) =>
        throw new ArgumentException(
            $"To {operation} a model it must be held in float32, and this one is held in {held} ({nameof(LoadOptions)}.{nameof(LoadOptions.Precision)}): open it with the default precision, Float32.",
            "model");
}
