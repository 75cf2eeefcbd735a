using System.Diagnostics;
using MoESdk.Evaluation;
using MoESdk.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MoESdk.Training;

/// <summary>
/// Trains a LLaMA-architecture model from scratch on a token stream: AdamW with decoupled weight decay on
/// matrices only, warm-up + cosine learning rate, gradient clipping, periodic held-out evaluation and
/// resumable checkpoints. Deterministic for a seed.
/// </summary>
internal sealed class Pretrainer
{
    private readonly LlamaModel _model;
    private readonly PretrainingOptions _options;
    private readonly AdamW _optimizer;
    private readonly LearningRateSchedule _schedule;

    public Pretrainer(LlamaModel model, PretrainingOptions options)
    {
        options.Validate();
        _model = model;
        _options = options;
        // Norm gains (vectors) are not decayed: pulling them to zero would fight the normalization.
        var matrices = model.parameters().Where(p => p.dim() >= 2).ToList();
        var vectors = model.parameters().Where(p => p.dim() < 2).ToList();
        _optimizer = optim.AdamW(
            [new AdamW.ParamGroup(matrices, new AdamW.Options { weight_decay = options.WeightDecay }),
             new AdamW.ParamGroup(vectors, new AdamW.Options { weight_decay = 0 })],
            lr: options.LearningRate, beta1: 0.9, beta2: 0.95, eps: 1e-8);
        _schedule = new LearningRateSchedule(options.LearningRate, options.WarmupSteps, options.Steps);
    }

    /// <summary>Steps completed (after a resume, counting the earlier run's).</summary>
    public int Step { get; private set; }

    /// <summary>Held-out loss of the last evaluation.</summary>
    public double? ValidationLoss { get; private set; }

    /// <summary>Saves what a resume needs: model weights are written by the caller, this writes the rest.</summary>
    public void SaveOptimizerState(string path)
    {
        using var stream = File.Create(path);
        using var writer = new BinaryWriter(stream);
        writer.Write(Step);
        _optimizer.save_state_dict(writer);
    }

    /// <summary>Restores the step and optimizer state written by <see cref="SaveOptimizerState"/>.</summary>
    public void LoadOptimizerState(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        Step = reader.ReadInt32();
        _optimizer.load_state_dict(reader);
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
        _model.train();
        while (Step < _options.Steps)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double rate = _schedule.At(Step);
            foreach (ParamGroup group in _optimizer.ParamGroups)
            {
                group.LearningRate = rate;
            }
            double loss;
            using (NewDisposeScope())
            {
                (Tensor inputs, Tensor targets) = batches.At(_options.Seed, Step);
                _optimizer.zero_grad();
                Tensor logits = _model.forward(inputs);
                Tensor lossTensor = nn.functional.cross_entropy(logits.view(-1, logits.shape[^1]), targets.view(-1));
                lossTensor.backward();
                nn.utils.clip_grad_norm_(_model.parameters(), _options.GradientClip);
                _optimizer.step();
                loss = lossTensor.item<float>();
            }
            Step++;
            tokensSeen += (long)_options.BatchSize * _options.SequenceLength;
            if (Step % _options.EvaluationInterval == 0 || Step == _options.Steps)
            {
                _model.eval();
                ValidationLoss = ModelEvaluator.Perplexity(_model, validation, cancellationToken: cancellationToken).MeanNegativeLogLikelihood;
                _model.train();
            }
            progress?.Report(new PretrainingProgress(Step, _options.Steps, loss, rate, ValidationLoss, tokensSeen / clock.Elapsed.TotalSeconds));
            if (Step % _options.CheckpointInterval == 0 || Step == _options.Steps)
            {
                checkpoint(Step);
            }
        }
        _model.eval();
        // A run resumed at its last step trains nothing, and still reports where it ended.
        ValidationLoss ??= ModelEvaluator.Perplexity(_model, validation, cancellationToken: cancellationToken).MeanNegativeLogLikelihood;
    }
}
