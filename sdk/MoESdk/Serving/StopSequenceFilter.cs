using System.Text;

namespace MoESdk.Serving;

/// <summary>
/// Cuts streamed text before the first stop sequence. Text that could still be the start of a stop sequence is held
/// back until the next pieces tell, so a stop sequence split across tokens is never sent in part.
/// </summary>
internal sealed class StopSequenceFilter
{
    private readonly IReadOnlyList<string> _stops;
    private readonly StringBuilder _pending = new();

    public StopSequenceFilter(IReadOnlyList<string> stops) => _stops = stops;

    /// <summary>Whether a stop sequence was found; nothing after it is given out.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Adds a piece of generated text; returns what can be given out now (possibly empty).</summary>
    public string Append(string piece)
    {
        if (Stopped)
        {
            return "";
        }
        _pending.Append(piece);
        string text = _pending.ToString();
        int cut = -1;
        foreach (string stop in _stops)
        {
            int at = text.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (cut < 0 || at < cut))
            {
                cut = at;
            }
        }
        _pending.Clear();
        if (cut >= 0)
        {
            Stopped = true;
            return text[..cut];
        }
        int held = HeldLength(text);
        _pending.Append(text, text.Length - held, held);
        return text[..^held];
    }

    /// <summary>What is still held back when the text ends without a stop sequence.</summary>
    public string Flush()
    {
        string rest = _pending.ToString();
        _pending.Clear();
        return rest;
    }

    // The longest end of the text that is the beginning of some stop sequence.
    private int HeldLength(string text)
    {
        int held = 0;
        foreach (string stop in _stops)
        {
            for (int n = Math.Min(stop.Length - 1, text.Length); n > held; n--)
            {
                if (text.AsSpan(text.Length - n).SequenceEqual(stop.AsSpan(0, n)))
                {
                    held = n;
                    break;
                }
            }
        }
        return held;
    }
}
