namespace MoESdk.Modules;

/// <summary>
/// Receives the experts layer <paramref name="layer"/>'s Mixture-of-Experts block chose: <paramref name="chosen"/> holds
/// <paramref name="topK"/> expert indices per token, token after token, best first. The span is only valid during the
/// call; a decode step passes its own buffer, so observing routing allocates nothing on the hot path.
/// </summary>
internal delegate void ExpertChoiceObserver(int layer, ReadOnlySpan<long> chosen, int topK);
