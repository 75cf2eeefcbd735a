using System.Globalization;
using Spectre.Console;

namespace MoESdk.Cli;

/// <summary>How far a command with several stages (calibrating, routing, evaluating, ...) is.</summary>
public interface IStageProgress
{
    void Report(string stage, int done, int total, string? detail = null);
}

/// <summary>One Spectre progress bar per stage, for a person at a terminal.</summary>
public sealed class ProgressBarStages(ProgressContext context) : IStageProgress
{
    private readonly Dictionary<string, ProgressTask> _bars = [];

    public void Report(string stage, int done, int total, string? detail = null)
    {
        if (!_bars.TryGetValue(stage, out ProgressTask? bar))
        {
            bar = _bars[stage] = context.AddTask(stage, maxValue: total);
        }
        bar.MaxValue = total;
        bar.Value = done;
        bar.Description = detail is null ? stage : $"{stage} {detail}";
    }
}

/// <summary>
/// Plain lines (<c>calibrating: 40% (26/64)</c>) when a stage starts, at every tenth of it and when it ends: for the
/// MSBuild task, which relays each line to the build log, so the lines must not depend on a terminal or a clock.
/// </summary>
public sealed class ProgressLineStages(TextWriter output) : IStageProgress
{
    private string? _stage;
    private int _tenths = -1;

    public void Report(string stage, int done, int total, string? detail = null)
    {
        int tenths = total <= 0 ? 10 : (int)(10L * Math.Clamp(done, 0, total) / total);
        if (stage == _stage && tenths == _tenths)
        {
            return;
        }
        _stage = stage;
        _tenths = tenths;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{stage}: {tenths * 10}% ({done}/{total}){(detail is null ? "" : " " + detail)}"));
    }
}
