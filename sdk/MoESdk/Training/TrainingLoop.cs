using MoESdk.Loading;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MoESdk.Training;

/// <summary>How a parameter trains; parameters with equal settings share an optimizer group.</summary>
/// <param name="WeightDecay">Decoupled weight decay.</param>
/// <param name="RateFactor">The learning rate as a multiple of the schedule's.</param>
internal sealed record ParameterGroup(double WeightDecay = 0, double RateFactor = 1);

/// <summary>How long and how fast a <see cref="TrainingLoop"/> trains.</summary>
/// <param name="Steps">Optimizer steps of the whole run.</param>
/// <param name="LearningRate">Peak learning rate (linear warm-up, then cosine decay).</param>
/// <param name="WarmupSteps">Steps of linear warm-up.</param>
/// <param name="Seed">Seeds the order of the training windows.</param>
internal sealed record TrainingLoopOptions(int Steps, double LearningRate, int WarmupSteps, int Seed)
{
    /// <summary>Largest global L2 norm of the gradients; larger ones are scaled down to it.</summary>
    public double GradientClip { get; init; } = 1.0;
}

/// <summary>What one optimizer step did.</summary>
/// <param name="Step">Steps done, this one included.</param>
/// <param name="Steps">Steps of the whole run.</param>
/// <param name="Loss">The step's training loss.</param>
/// <param name="LearningRate">The schedule's rate at this step (before any group's factor).</param>
internal readonly record struct TrainingStep(int Step, int Steps, double Loss, double LearningRate);

/// <summary>The loss of one step's batch: inputs and next-token targets, both [batch, length].</summary>
internal delegate Tensor StepLoss(Tensor inputs, Tensor targets);

/// <summary>
/// The optimizer loop of every training in the SDK (pretraining, PAR router training, ToMoE masks, adaptation):
/// AdamW (β = 0.9, 0.95), linear warm-up then cosine learning rate, global gradient-norm clipping, a seeded batch
/// per step, cancellation between steps. Only the given parameters learn: every other parameter of the model is
/// frozen for the run (<see cref="FrozenExcept"/>). What differs between the trainings is the loss, given per
/// step, and how each parameter learns (<see cref="ParameterGroup"/>). The optimizer lives as long as the loop,
/// so a run can be resumed from <see cref="SaveState"/>.
/// </summary>
internal sealed class TrainingLoop : IDisposable
{
    private readonly nn.Module _model;
    private readonly ParameterGroup[] _groups;
    private readonly Parameter[] _trained;
    private readonly TrainingLoopOptions _options;
    private readonly LearningRateSchedule _schedule;
    private readonly AdamW _optimizer;

    /// <param name="model">The model the loss runs; its parameters outside <paramref name="trained"/> stay as they are.</param>
    /// <param name="trained">What learns. Its order is the order of the gradient-norm sum, so keep it for bit-identical runs.</param>
    /// <param name="options">Steps, learning rate, warm-up, clipping, seed.</param>
    /// <param name="groupOf">How each parameter learns; null: no weight decay, the schedule's rate.</param>
    public TrainingLoop(nn.Module model, IEnumerable<Parameter> trained, TrainingLoopOptions options, Func<Parameter, ParameterGroup>? groupOf = null)
    {
        _model = model;
        _trained = [.. trained];
        foreach (Parameter parameter in _trained)
        {
            Float32Required.Check(parameter.dtype, "train");
        }
        _options = options;
        _schedule = new LearningRateSchedule(options.LearningRate, options.WarmupSteps, options.Steps);
        IGrouping<ParameterGroup, Parameter>[] groups = [.. _trained.GroupBy(groupOf ?? (_ => new ParameterGroup()))];
        _groups = [.. groups.Select(g => g.Key)];
        _optimizer = optim.AdamW(
            groups.Select(g => new AdamW.ParamGroup(g, new AdamW.Options { weight_decay = g.Key.WeightDecay })),
            lr: options.LearningRate, beta1: 0.9, beta2: 0.95, eps: 1e-8);
    }

    /// <summary>Steps done (after <see cref="LoadState"/>, counting the earlier run's).</summary>
    public int Step { get; private set; }

    /// <summary>
    /// Trains from <see cref="Step"/> to the last step: each step takes the batch of the step from
    /// <paramref name="batches"/>, minimizes <paramref name="loss"/> on it, then tells <paramref name="afterStep"/>.
    /// The model is in training mode for the run and in evaluation mode after it, even when cancelled.
    /// </summary>
    /// <returns>The loss of each step this call took.</returns>
    public IReadOnlyList<double> Run(TrainingBatches batches, StepLoss loss, Action<TrainingStep>? afterStep = null, CancellationToken cancellationToken = default)
    {
        var losses = new List<double>(Math.Max(0, _options.Steps - Step));
        using var frozen = new FrozenExcept(_model, _trained);
        _model.train();
        try
        {
            while (Step < _options.Steps)
            {
                cancellationToken.ThrowIfCancellationRequested();
                double rate = _schedule.At(Step);
                foreach ((optim.ILearningRateController group, ParameterGroup settings) in _optimizer.ParamGroups.Zip(_groups))
                {
                    group.LearningRate = rate * settings.RateFactor;
                }
                using (NewDisposeScope())
                {
                    (Tensor inputs, Tensor targets) = batches.At(_options.Seed, Step);
                    _optimizer.zero_grad();
                    Tensor value = loss(inputs, targets);
                    value.backward();
                    nn.utils.clip_grad_norm_(_trained, _options.GradientClip);
                    _optimizer.step();
                    losses.Add(value.item<float>());
                }
                Step++;
                afterStep?.Invoke(new TrainingStep(Step, _options.Steps, losses[^1], rate));
            }
        }
        finally
        {
            foreach (Parameter p in _trained)
            {
                p.grad = null;
            }
            _model.eval();
        }
        return losses;
    }

    /// <summary>Writes what a resume needs besides the model's weights: the step and the optimizer's moments.</summary>
    public void SaveState(BinaryWriter writer)
    {
        writer.Write(Step);
        _optimizer.save_state_dict(writer);
    }

    /// <summary>Restores the step and optimizer state written by <see cref="SaveState"/>.</summary>
    public void LoadState(BinaryReader reader)
    {
        Step = reader.ReadInt32();
        _optimizer.load_state_dict(reader);
    }

    public void Dispose() => _optimizer.Dispose();
}
