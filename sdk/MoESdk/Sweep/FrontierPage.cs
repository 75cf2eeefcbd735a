using System.Globalization;
using System.Net;
using System.Text;

namespace MoESdk.Sweep;

/// <summary>
/// The sweep as one self-contained HTML page (inline SVG, no script, nothing fetched): perplexity ratio and accuracy kept
/// against decode speed-up, the frontier drawn through the recipes nobody beats, and a table with each recipe's flags.
/// </summary>
internal static class FrontierPage
{
    public const string FileName = "frontier.html";

    private const int Width = 560, Height = 400, Left = 64, Right = 20, Top = 24, Bottom = 52;

    private static readonly Dictionary<string, string> MethodColors = new()
    {
        ["factor"] = "#1f77b4", ["cluster"] = "#2ca02c", ["coact"] = "#d62728", ["tomoe"] = "#9467bd",
    };

    public static string Render(SweepInputs inputs, IReadOnlyList<SweepPoint> points, double? maxPerplexityRatio)
    {
        IReadOnlyList<SweepPoint> frontier = Frontier.Of(points);
        SweepPoint? best = maxPerplexityRatio is double max ? Frontier.FastestWithin(points, max) : null;
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>MoE quality–speed frontier: {E(inputs.Model)}</title>
            <style>
            body {"{"} font: 14px system-ui, sans-serif; margin: 24px; color: #222; {"}"}
            svg {"{"} background: #fff; border: 1px solid #ddd; margin: 0 16px 16px 0; {"}"}
            table {"{"} border-collapse: collapse; {"}"} td, th {"{"} padding: 3px 8px; border-bottom: 1px solid #eee; text-align: right; {"}"}
            td.flags, th.flags {"{"} text-align: left; font-family: monospace; {"}"} tr.frontier td {"{"} font-weight: 600; {"}"}
            </style></head><body>
            <h1>Quality–speed frontier of {E(inputs.Model)}</h1>
            <p>{points.Count} recipes. Quality on the evaluation text (perplexity over the dense model's; next-token top-1 accuracy as a share of
            the dense model's); speed is batch-1 decode tokens/s over the dense model's, measured in one process on the machine that ran the sweep.
            The line joins the frontier: the recipes no other recipe beats on both speed and perplexity.</p>

            """);
        html.Append(Chart("perplexity ratio (lower is better)", points, frontier, p => p.PerplexityRatio, maxPerplexityRatio));
        if (points.Any(p => p.AccuracyKept is not null))
        {
            html.Append(Chart("top-1 accuracy kept (higher is better)", points.Where(p => p.AccuracyKept is not null).ToArray(), frontier, p => p.AccuracyKept ?? 0, null));
        }
        if (maxPerplexityRatio is double limit)
        {
            html.Append(best is null
                ? string.Create(CultureInfo.InvariantCulture, $"<p>No recipe keeps the perplexity ratio within {limit:0.###}.</p>")
                : string.Create(CultureInfo.InvariantCulture,
                    $"<p>Fastest recipe within a perplexity ratio of {limit:0.###}: <code>{E(best.Recipe)}</code> (decode {best.DecodeSpeedup:0.00}×, ratio {best.PerplexityRatio:0.000}).</p>"));
        }
        html.Append("<table><tr><th>#</th><th class=\"flags\">recipe (moe convert flags)</th><th>budget</th><th>active FFN</th><th>ppl ratio</th><th>accuracy kept</th><th>decode ×</th><th>prefill ×</th><th>convert s</th></tr>\n");
        for (int i = 0; i < points.Count; i++)
        {
            SweepPoint p = points[i];
            html.Append(CultureInfo.InvariantCulture,
                $"<tr{(frontier.Contains(p) ? " class=\"frontier\"" : "")}><td>{i + 1}</td><td class=\"flags\">{E(p.Recipe)}</td><td>{p.Budget:0.##}</td><td>{p.ActiveFeedForwardRatio:P1}</td>" +
                $"<td>{p.PerplexityRatio:0.000}</td><td>{(p.AccuracyKept is double kept ? kept.ToString("P1", CultureInfo.InvariantCulture) : "")}</td>" +
                $"<td>{p.DecodeSpeedup:0.00}</td><td>{p.PrefillSpeedup:0.00}</td><td>{p.ConversionSeconds:0.0}</td></tr>\n");
        }
        html.Append("</table>\n</body></html>\n");
        return html.ToString();

        string Chart(string yLabel, IReadOnlyList<SweepPoint> shown, IReadOnlyList<SweepPoint> line, Func<SweepPoint, double> y, double? target)
        {
            var xs = shown.Select(p => p.DecodeSpeedup).Append(1.0).ToArray();
            var ys = shown.Select(y).Append(1.0).Concat(target is double t ? [t] : []).ToArray();
            var xAxis = new Axis(xs.Min(), xs.Max(), Left, Width - Right);
            var yAxis = new Axis(ys.Min(), ys.Max(), Height - Bottom, Top);
            var svg = new StringBuilder();
            svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{E(yLabel)} against decode speed-up\">\n");
            foreach (double tick in xAxis.Ticks())
            {
                svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{xAxis.Map(tick):0.#}\" y1=\"{Top}\" x2=\"{xAxis.Map(tick):0.#}\" y2=\"{Height - Bottom}\" stroke=\"#eee\"/>" +
                    $"<text x=\"{xAxis.Map(tick):0.#}\" y=\"{Height - Bottom + 16}\" text-anchor=\"middle\" font-size=\"11\">{tick:0.##}×</text>\n");
            }
            foreach (double tick in yAxis.Ticks())
            {
                svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{yAxis.Map(tick):0.#}\" x2=\"{Width - Right}\" y2=\"{yAxis.Map(tick):0.#}\" stroke=\"#eee\"/>" +
                    $"<text x=\"{Left - 6}\" y=\"{yAxis.Map(tick) + 4:0.#}\" text-anchor=\"end\" font-size=\"11\">{tick:0.##}</text>\n");
            }
            // The dense model sits at (1, 1): its own speed and quality.
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{xAxis.Map(1):0.#}\" y1=\"{Top}\" x2=\"{xAxis.Map(1):0.#}\" y2=\"{Height - Bottom}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>" +
                $"<line x1=\"{Left}\" y1=\"{yAxis.Map(1):0.#}\" x2=\"{Width - Right}\" y2=\"{yAxis.Map(1):0.#}\" stroke=\"#999\" stroke-dasharray=\"4 3\"/>\n");
            if (target is double limit)
            {
                svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{yAxis.Map(limit):0.#}\" x2=\"{Width - Right}\" y2=\"{yAxis.Map(limit):0.#}\" stroke=\"#e377c2\"/>" +
                    $"<text x=\"{Width - Right - 4}\" y=\"{yAxis.Map(limit) - 4:0.#}\" text-anchor=\"end\" font-size=\"11\" fill=\"#e377c2\">target {limit:0.###}</text>\n");
            }
            var onLine = line.Where(shown.Contains).ToArray();
            if (onLine.Length > 1)
            {
                string path = string.Join(' ', onLine.Select(p => string.Create(CultureInfo.InvariantCulture, $"{xAxis.Map(p.DecodeSpeedup):0.#},{yAxis.Map(y(p)):0.#}")));
                svg.Append(CultureInfo.InvariantCulture, $"<polyline class=\"frontier\" points=\"{path}\" fill=\"none\" stroke=\"#444\" stroke-width=\"1.5\"/>\n");
            }
            foreach (SweepPoint p in shown)
            {
                int number = IndexOf(points, p) + 1;
                string color = MethodColors.GetValueOrDefault(p.Method, "#444");
                double cx = xAxis.Map(p.DecodeSpeedup), cy = yAxis.Map(y(p));
                svg.Append(CultureInfo.InvariantCulture,
                    $"<g class=\"point\"><title>{number}: {E(p.Recipe)}: {y(p):0.000}, decode {p.DecodeSpeedup:0.00}×</title>" +
                    $"<circle cx=\"{cx:0.#}\" cy=\"{cy:0.#}\" r=\"{(line.Contains(p) ? 6 : 4)}\" fill=\"{color}\" fill-opacity=\"0.85\"/>" +
                    $"<text x=\"{cx + 7:0.#}\" y=\"{cy - 5:0.#}\" font-size=\"10\">{number}</text></g>\n");
            }
            svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{(Left + Width - Right) / 2}\" y=\"{Height - 12}\" text-anchor=\"middle\">decode speed-up over dense</text>" +
                $"<text transform=\"translate(16 {(Top + Height - Bottom) / 2}) rotate(-90)\" text-anchor=\"middle\">{E(yLabel)}</text>\n");
            int legendX = Left + 8;
            foreach ((string method, string color) in MethodColors.Where(m => shown.Any(p => p.Method == m.Key)))
            {
                svg.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{legendX}\" cy=\"{Top + 8}\" r=\"4\" fill=\"{color}\"/><text x=\"{legendX + 7}\" y=\"{Top + 12}\" font-size=\"11\">{method}</text>");
                legendX += 64;
            }
            svg.Append("\n</svg>\n");
            return svg.ToString();
        }
    }

    private static int IndexOf(IReadOnlyList<SweepPoint> points, SweepPoint point)
    {
        for (int i = 0; i < points.Count; i++)
        {
            if (ReferenceEquals(points[i], point))
            {
                return i;
            }
        }
        return -1;
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);

    /// <summary>A linear axis from data values to pixels, padded and with round ticks.</summary>
    private readonly record struct Axis(double Low, double High, double From, double To)
    {
        private double Span => Math.Max(High - Low, 1e-9);

        private double Start => Low - (Span * 0.06);

        private double End => High + (Span * 0.06);

        public double Map(double value) => From + ((value - Start) / (End - Start) * (To - From));

        public IEnumerable<double> Ticks()
        {
            double raw = (End - Start) / 6;
            double magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
            double step = new[] { 1.0, 2.0, 5.0, 10.0 }.Select(m => m * magnitude).First(s => s >= raw);
            for (double tick = Math.Ceiling(Start / step) * step; tick <= End; tick += step)
            {
                yield return Math.Round(tick, 10);
            }
        }
    }
}
