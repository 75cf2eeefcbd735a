using System.Diagnostics;
using MoESdk.Evaluation;
using MoESdk.Modules;

namespace MoESdk.Training;

/// <summary>
/// Trains a LLaMA-architecture model from scratch on a token stream: AdamW with decoupled weight decay on
/// matrices only, warm-up + cosine learning rate, gradient clipping, periodic held-out evaluation and
/// resumable checkpoints. Deterministic for a seed.
/// </summary>
internal sealed class Pretrainer : IDisposable
{
    private readonly LlamaModel _model;
    private readonly PretrainingOptions _options;
    private readonly TrainingLoop _loop;

    public Pretrainer(LlamaModel model, PretrainingOptions options)
    {
        options.Validate();
        _model = model;
        _options = options;
        // Norm gains (vectors) are not decayed: pulling them to zero would fight the normalization.
        var matrices = new ParameterGroup(options.WeightDecay);
        var vectors = new ParameterGroup();
        _loop = new TrainingLoop(model, model.parameters(),
            new TrainingLoopOptions(options.Steps, options.LearningRate, options.WarmupSteps, options.Seed) { GradientClip = options.GradientClip },
            p => p.dim() >= 2 ? matrices : vectors);
    }

    /// <summary>Steps completed (after a resume, counting the earlier run's).</summary>
    public int Step => _loop.Step;

    /// <summary>Held-out loss of the last evaluation.</summary>
    public double? ValidationLoss { get; private set; }

    /// <summary>Saves what a resume needs: model weights are written by the caller, this writes the rest.</summary>
    public void SaveOptimizerState(string path)
    {
        using var stream = File.Create(path);
        using var writer = new BinaryWriter(stream);
        _loop.SaveState(writer);
    }

    /// <summary>Restores the step and optimizer state written by <see cref="SaveOptimizerState"/>.</summary>
    public void LoadOptimizerState(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        _loop.LoadState(reader);
    }

    /// <summary>
    /// Trains until <see cref="PretrainingOptions.Steps"/>. <paramref name="checkpoint"/> is called at every
    /// checkpoint interval and at the end with the step reached.
    /// </summary>
    public void Train(int[] trainTokens, int[] validationTokens, Action<int> checkpoint, IProgress<PretrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        var batches = new TrainingBatches(trainTokens, _options.BatchSize, _options.SequenceLength);
        var validation = new TokenWindows(validationTokens, _options.SequenceLength, _options.EvaluationWindows);
        var clock = Stopwatch.StartNew();
        long tokensSeen = 0;
        _loop.Run(batches, (inputs, targets) => LanguageModelLoss.NextToken(_model.forward(inputs), targets), step =>
        {
            tokensSeen += (long)_options.BatchSize * _options.SequenceLength;
            if (step.Step % _options.EvaluationInterval == 0 || step.Step == _options.Steps)
            {
                _model.eval();
                ValidationLoss = ModelEvaluator.Perplexity(_model, validation, cancellationToken: cancellationToken).MeanNegativeLogLikelihood;
                _model.train();
            }
            progress?.Report(new PretrainingProgress(step.Step, _options.Steps, step.Loss, step.LearningRate, ValidationLoss, tokensSeen / clock.Elapsed.TotalSeconds));
            if (step.Step % _options.CheckpointInterval == 0 || step.Step == _options.Steps)
            {
                checkpoint(step.Step);
            }
        }, cancellationToken);
        // A run resumed at its last step trains nothing, and still reports where it ended.
        ValidationLoss ??= ModelEvaluator.Perplexity(_model, validation, cancellationToken: cancellationToken).MeanNegativeLogLikelihood;
    }

    public void Dispose() => _loop.Dispose();
}
