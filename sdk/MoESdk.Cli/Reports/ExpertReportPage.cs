using System.Globalization;
using System.Text;
using MoESdk.Evaluation;
using MoESdk.Tokenization;

namespace MoESdk.Cli.Reports;

/// <summary>
/// The self-contained HTML report of <c>moe experts --html</c>: an expert-load heatmap (layer × expert, with
/// the real counts), per-layer tables of what each expert sees, and a sample of the text with every token
/// colored by the expert it ran first in a chosen layer. No scripts or external files; the markup is also
/// well-formed XML so tools can read the numbers back.
/// </summary>
internal static class ExpertReportPage
{
    private const int CellWidth = 64, CellHeight = 34, LabelWidth = 180, HeaderHeight = 24;

    public static string Render(string model, string text, RoutingProfile profile, ExpertUsageReport usage, ITextTokenizer tokenizer, int openLayer, int sampleTokens)
    {
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>Experts of ").Append(Escape(Path.GetFileName(model))).Append("</title>\n")
            .Append("<style>\n")
            .Append("body{font-family:system-ui,sans-serif;margin:24px;color:#1b1b1b;max-width:1200px}\n")
            .Append("h1{font-size:20px} h2{font-size:16px;margin-top:28px}\n")
            .Append("table{border-collapse:collapse;font-size:13px;margin:8px 0} td,th{border:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}\n")
            .Append("th{background:#f3f3f3} td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\n")
            .Append("code{background:#f3f3f3;padding:0 2px;white-space:pre}\n")
            .Append(".sample{font-family:ui-monospace,monospace;font-size:13px;line-height:1.9;white-space:pre-wrap;border:1px solid #ddd;padding:8px}\n")
            .Append(".sample span{border-radius:3px;padding:1px 0}\n")
            .Append(".legend span{display:inline-block;padding:2px 8px;margin:2px;border-radius:3px;font-size:12px}\n")
            .Append("</style>\n</head>\n<body>\n");
        html.Append("<h1>Experts of ").Append(Escape(model)).Append("</h1>\n<p>")
            .Append(usage.Tokens.ToString("N0", CultureInfo.InvariantCulture)).Append(" tokens of <code>").Append(Escape(text))
            .Append("</code> routed. A token counts once for each of the k experts it runs.</p>\n");

        html.Append("<h2>Expert load (tokens per layer and expert)</h2>\n");
        Heatmap(html, usage);
        foreach (LayerUsage layer in usage.Layers)
        {
            UsageTable(html, layer);
        }
        html.Append("<h2>Token attribution</h2>\n<p>The first ").Append(Math.Min(sampleTokens, profile.Tokens.Count).ToString(CultureInfo.InvariantCulture))
            .Append(" tokens, each colored by its highest-scoring expert in the layer; hover a token for all its experts.</p>\n");
        for (int layer = 0; layer < profile.Layers; layer++)
        {
            Attribution(html, profile, tokenizer, layer, sampleTokens, open: layer == openLayer);
        }
        html.Append("</body>\n</html>\n");
        return html.ToString();
    }

    private static void Heatmap(StringBuilder html, ExpertUsageReport usage)
    {
        int experts = usage.Layers.Max(l => l.Experts.Count);
        int width = LabelWidth + experts * CellWidth, height = HeaderHeight + usage.Layers.Count * CellHeight;
        long busiest = usage.Layers.SelectMany(l => l.Experts).Max(e => e.Count);
        html.Append(Invariant($"<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"heatmap\" width=\"{width}\" height=\"{height}\" font-size=\"12\" font-family=\"system-ui,sans-serif\">\n"));
        for (int e = 0; e < experts; e++)
        {
            html.Append(Invariant($"<text x=\"{LabelWidth + e * CellWidth + CellWidth / 2}\" y=\"16\" text-anchor=\"middle\">expert {e}</text>\n"));
        }
        foreach (LayerUsage layer in usage.Layers)
        {
            int y = HeaderHeight + layer.Layer * CellHeight;
            html.Append(Invariant($"<text x=\"4\" y=\"{y + CellHeight / 2 + 4}\">layer {layer.Layer} · imbalance {layer.Imbalance:F2}</text>\n"));
            foreach (ExpertUsage e in layer.Experts)
            {
                // Intensity relative to the busiest cell of the whole map, so layers compare with each other.
                double intensity = busiest == 0 ? 0 : (double)e.Count / busiest;
                int x = LabelWidth + e.Expert * CellWidth;
                html.Append(Invariant($"<g class=\"cell\"><rect data-layer=\"{layer.Layer}\" data-expert=\"{e.Expert}\" data-count=\"{e.Count}\" data-share=\"{e.Share:R}\" x=\"{x}\" y=\"{y}\" width=\"{CellWidth - 2}\" height=\"{CellHeight - 2}\" fill=\"{Blue(intensity)}\">"))
                    .Append(Invariant($"<title>layer {layer.Layer}, expert {e.Expert}: {e.Count} tokens ({e.Share:P1})</title></rect>"))
                    .Append(Invariant($"<text x=\"{x + CellWidth / 2 - 1}\" y=\"{y + CellHeight / 2 + 3}\" text-anchor=\"middle\" fill=\"{(intensity > 0.55 ? "#fff" : "#111")}\">{e.Count}</text></g>\n"));
            }
        }
        html.Append("</svg>\n");
    }

    private static void UsageTable(StringBuilder html, LayerUsage layer)
    {
        html.Append(Invariant($"<h2>Layer {layer.Layer}: top-{layer.TopK} of {layer.Experts.Count} experts, imbalance (max/mean) {layer.Imbalance:F2}</h2>\n"))
            .Append("<table><tr><th>expert</th><th>tokens</th><th>share</th><th>most routed tokens (share of the token's occurrences)</th><th>most routed contexts (previous token, [token])</th></tr>\n");
        foreach (ExpertUsage e in layer.Experts)
        {
            html.Append(Invariant($"<tr><td class=\"n\">{e.Expert}</td><td class=\"n\">{e.Count}</td><td class=\"n\">{e.Share:P1}</td><td>"));
            html.AppendJoin(" ", e.TopTokens.Select(t => $"<code>{Escape(Visible(t.Text))}</code>&#160;{Invariant($"{t.Count}")}&#160;({Invariant($"{t.OfOccurrences:P0}")})"));
            html.Append("</td><td>");
            html.AppendJoin(" ", e.TopContexts.Select(c => $"<code>{Escape(Visible(c.Before))}[{Escape(Visible(c.Token))}]</code>&#160;{Invariant($"{c.Count}")}"));
            html.Append("</td></tr>\n");
        }
        html.Append("</table>\n");
    }

    private static void Attribution(StringBuilder html, RoutingProfile profile, ITextTokenizer tokenizer, int layer, int sampleTokens, bool open)
    {
        int experts = profile.ExpertCount(layer);
        html.Append(open ? "<details open=\"open\">" : "<details>").Append(Invariant($"<summary>layer {layer}</summary>\n<div class=\"legend\">"));
        for (int e = 0; e < experts; e++)
        {
            html.Append(Invariant($"<span style=\"background:{Hue(e, experts)}\">expert {e}</span>"));
        }
        html.Append(Invariant($"</div>\n<div class=\"sample\" data-layer=\"{layer}\">"));
        int count = Math.Min(sampleTokens, profile.Tokens.Count);
        for (int position = 0; position < count; position++)
        {
            ReadOnlySpan<int> chosen = profile.ChosenExperts(layer, position);
            var names = new StringBuilder();
            foreach (int e in chosen)
            {
                names.Append(names.Length == 0 ? "" : ", ").Append(e.ToString(CultureInfo.InvariantCulture));
            }
            string token = tokenizer.Decode([profile.Tokens[position]]);
            html.Append(Invariant($"<span data-experts=\"{names}\" style=\"background:{Hue(chosen[0], experts)}\" title=\"experts {names}\">"))
                .Append(Escape(token.Replace("\n", "↵\n", StringComparison.Ordinal)))
                .Append("</span>");
        }
        html.Append("</div>\n</details>\n");
    }

    /// <summary>A token for a table cell: spaces, line breaks and tabs shown as symbols, so " b" and "b" differ and each entry stays on one line.</summary>
    private static string Visible(string token) =>
        token.Replace(" ", "␣", StringComparison.Ordinal).Replace("\n", "↵", StringComparison.Ordinal).Replace("\t", "⇥", StringComparison.Ordinal);

    /// <summary>White to deep blue.</summary>
    private static string Blue(double intensity)
    {
        int r = (int)Math.Round(247 - intensity * (247 - 8)), g = (int)Math.Round(251 - intensity * (251 - 69)), b = (int)Math.Round(255 - intensity * (255 - 148));
        return Invariant($"rgb({r},{g},{b})");
    }

    /// <summary>A light, distinct color per expert.</summary>
    private static string Hue(int expert, int experts) => Invariant($"hsl({360 * expert / experts},70%,82%)");

    /// <summary>Escapes text for HTML and XML alike, dropping characters XML cannot carry (control characters, lone surrogates).</summary>
    public static string Escape(string text)
    {
        var escaped = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            switch (c)
            {
                case '&': escaped.Append("&amp;"); break;
                case '<': escaped.Append("&lt;"); break;
                case '>': escaped.Append("&gt;"); break;
                case '"': escaped.Append("&quot;"); break;
                case '\n' or '\t': escaped.Append(c); break;
                case < ' ' or '\uFFFE' or '\uFFFF': escaped.Append('\uFFFD'); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                    {
                        escaped.Append(c).Append(text[++i]);
                    }
                    else
                    {
                        escaped.Append(char.IsSurrogate(c) ? '\uFFFD' : c);
                    }
                    break;
            }
        }
        return escaped.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
