using static TorchSharp.torch;

namespace MoESdk.Modules;

/// <summary>
/// One expert: the SwiGLU block of width M cut from (or shaped like) the dense FFN. Its Mixture-of-Experts block
/// names its weights (<see cref="MixtureOfExpertsFeedForward.NamedWeights"/>), not <see cref="DenseFeedForward.NamedWeights"/>.
/// </summary>
internal sealed class Expert(Tensor gate, Tensor up, Tensor down) : DenseFeedForward(nameof(Expert), gate, up, down);
