using System.CommandLine;
using System.Diagnostics;
using MoESdk.Loading;
using MoESdk.Modules;
using MoESdk.Tokenization;
using MoESdk.Training;
using Spectre.Console;
using static TorchSharp.torch;

namespace MoESdk.Cli.Commands;

/// <summary>
/// <c>moe pretrain</c>: trains a byte-level BPE tokenizer and a LLaMA-architecture model from scratch on a
/// text file, and saves both in the Hugging Face layout (config.json, model.safetensors, vocab.json,
/// merges.txt, tokenizer_config.json), the same files a user's model comes in.
/// </summary>
public static class PretrainCommand
{
    private const string CheckpointFolder = "checkpoint";
    private const string OptimizerFile = "optimizer.bin";

    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Training text (UTF-8).", Required = true };
        var validation = new Option<string>("--validation") { Description = "Held-out text for evaluation (UTF-8).", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "Output folder of the model.", Required = true };
        var vocabulary = new Option<int>("--vocab-size") { Description = "BPE vocabulary size.", DefaultValueFactory = _ => 2048 };
        var hidden = new Option<int>("--hidden") { Description = "Hidden size.", DefaultValueFactory = _ => 256 };
        var layers = new Option<int>("--layers") { Description = "Decoder layers.", DefaultValueFactory = _ => 5 };
        var heads = new Option<int>("--heads") { Description = "Attention heads.", DefaultValueFactory = _ => 8 };
        var kvHeads = new Option<int>("--kv-heads") { Description = "Key/value heads (grouped-query attention).", DefaultValueFactory = _ => 4 };
        var ffn = new Option<int>("--ffn") { Description = "Feed-forward (intermediate) size.", DefaultValueFactory = _ => 768 };
        var context = new Option<int>("--context") { Description = "Context length the model supports.", DefaultValueFactory = _ => 512 };
        var steps = new Option<int>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => 2000 };
        var batch = new Option<int>("--batch") { Description = "Sequences per step.", DefaultValueFactory = _ => 16 };
        var sequence = new Option<int>("--seq") { Description = "Tokens per training sequence.", DefaultValueFactory = _ => 128 };
        var rate = new Option<double>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => 3e-3 };
        var warmup = new Option<int>("--warmup") { Description = "Warm-up steps.", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Seed of initialization and batches.", DefaultValueFactory = _ => 1234 };
        var dtype = new Option<string>("--dtype") { Description = "Saved weight type: f32, f16 or bf16.", DefaultValueFactory = _ => "bf16" };
        var resume = new Option<bool>("--resume") { Description = "Continue from the checkpoint in the output folder." };
        var command = new Command("pretrain", "Train a tokenizer and a LLaMA-architecture model from scratch on a text file.")
        {
            data, validation, output, vocabulary, hidden, layers, heads, kvHeads, ffn, context, steps, batch, sequence, rate, warmup, seed, dtype, resume,
        };
        CommandRunner.SetAction(command, (result, cancellationToken) =>
        {
            string outDir = result.GetValue(output)!;
            ScalarType storeAs = result.GetValue(dtype) switch
            {
                "f32" => ScalarType.Float32,
                "f16" => ScalarType.Float16,
                "bf16" => ScalarType.BFloat16,
                var other => throw new ArgumentException($"--dtype must be f32, f16 or bf16, was '{other}'."),
            };
            var options = new PretrainingOptions
            {
                Steps = result.GetValue(steps),
                BatchSize = result.GetValue(batch),
                SequenceLength = result.GetValue(sequence),
                LearningRate = result.GetValue(rate),
                WarmupSteps = result.GetValue(warmup),
                Seed = result.GetValue(seed),
            };
            options.Validate();
            string trainText = ReadText(result.GetValue(data)!);
            string validationText = ReadText(result.GetValue(validation)!);
            Directory.CreateDirectory(outDir);
            var clock = Stopwatch.StartNew();

            ITextTokenizer tokenizer = TokenizerLoader.TryLoad(outDir) ?? TrainTokenizer(trainText, result.GetValue(vocabulary), outDir);
            int[] trainTokens = [.. tokenizer.Encode(trainText, addBos: false)];
            int[] validationTokens = [.. tokenizer.Encode(validationText, addBos: false)];
            CommandRunner.Status.MarkupLine($"tokenizer: {tokenizer.VocabSize} tokens; training text {trainTokens.Length:N0} tokens, held-out {validationTokens.Length:N0} tokens");

            var config = new ModelConfig
            {
                Architecture = "LlamaForCausalLM",
                HiddenSize = result.GetValue(hidden),
                IntermediateSize = result.GetValue(ffn),
                NumLayers = result.GetValue(layers),
                NumHeads = result.GetValue(heads),
                NumKeyValueHeads = result.GetValue(kvHeads),
                VocabSize = tokenizer.VocabSize,
                MaxPositions = result.GetValue(context),
                TieWordEmbeddings = true,
                // Trained on a plain token stream with no BOS marker, so prompts must not start with one.
                BosTokenId = null,
                EosTokenIds = tokenizer.EosIds,
            };
            config.Validate(outDir);
            string checkpointDir = Path.Combine(outDir, CheckpointFolder);
            bool resuming = result.GetValue(resume) && File.Exists(Path.Combine(checkpointDir, OptimizerFile));
            using ModelWeights initial = resuming ? ModelLoader.Load(checkpointDir).Weights : RandomInitialization.Create(config, options.Seed);
            using var model = new LlamaModel(config, initial);
            using var trainer = new Pretrainer(model, options);
            if (resuming)
            {
                trainer.LoadOptimizerState(Path.Combine(checkpointDir, OptimizerFile));
                CommandRunner.Status.MarkupLine($"resuming at step {trainer.Step}");
            }

            void Checkpoint(int step)
            {
                Save(model, config, checkpointDir, ScalarType.Float32);
                trainer.SaveOptimizerState(Path.Combine(checkpointDir, OptimizerFile));
            }

            CommandRunner.Status.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(progressContext =>
                {
                    ProgressTask task = progressContext.AddTask("training", maxValue: options.Steps);
                    task.Value = trainer.Step;
                    var progress = new SynchronousProgress<PretrainingProgress>(p =>
                    {
                        task.Value = p.Step;
                        task.Description = $"step {p.Step} loss {p.Loss:F3} held-out {p.ValidationLoss?.ToString("F3") ?? "-"} lr {p.LearningRate:E1} {p.TokensPerSecond:F0} tok/s";
                    });
                    trainer.Train(trainTokens, validationTokens, Checkpoint, progress, cancellationToken);
                });

            Save(model, config, outDir, storeAs);
            double heldOut = trainer.ValidationLoss ?? double.NaN;
            var report = new PretrainReport(outDir, model.CountParameters().Total, trainTokens.Length, validationTokens.Length,
                options.Steps, (long)options.Steps * options.BatchSize * options.SequenceLength, heldOut, Math.Exp(heldOut),
                clock.Elapsed.TotalMinutes, options.Seed);
            if (result.GetValue(CommonOptions.Json))
            {
                CommandRunner.WriteJson(report);
            }
            else
            {
                AnsiConsole.MarkupLine($"saved {Markup.Escape(outDir)}: {report.Parameters:N0} parameters, held-out perplexity {report.HeldOutPerplexity:F2} " +
                    $"(on {options.EvaluationWindows} windows), {report.Minutes:F1} minutes");
            }
            return Task.FromResult(0);
        });
        return command;
    }

    private static ITextTokenizer TrainTokenizer(string text, int vocabularySize, string outDir)
    {
        CommandRunner.Status.MarkupLine($"training a {vocabularySize}-token byte-level BPE tokenizer...");
        new BpeTrainer(vocabularySize).Train(text).Save(outDir);
        return TokenizerLoader.TryLoad(outDir) ?? throw new InvalidOperationException($"The tokenizer saved to {outDir} could not be read back.");
    }

    private static void Save(LlamaModel model, ModelConfig config, string directory, ScalarType storeAs)
    {
        Directory.CreateDirectory(directory);
        HuggingFaceConfig.Write(Path.Combine(directory, "config.json"), config);
        SafeTensorsWriter.Write(Path.Combine(directory, "model.safetensors"), model.NamedWeights(), storeAs: storeAs);
    }

    private static string ReadText(string path) =>
        File.Exists(path) ? File.ReadAllText(path) : throw new FileNotFoundException($"Text file '{path}' does not exist.");

    /// <summary>The JSON fields of <c>moe pretrain --json</c>.</summary>
    public sealed record PretrainReport(string Model, long Parameters, int TrainingTokens, int HeldOutTokens, int Steps, long TokensSeen,
        double HeldOutLoss, double HeldOutPerplexity, double Minutes, int Seed);
}
