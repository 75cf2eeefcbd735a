using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Xml;
using System.Xml.Linq;

namespace MoESdk.Cli.Tests;

public class AdaptationCommandTests(SmallArtifactFixture model) : IClassFixture<SmallArtifactFixture>
{
    [Fact]
    public void AdaptWritesAnArtifactThatRecordsTheAdaptationAndReproducesTheReportedPerplexity()
    {
        string output = model.NewPath(".moe");
        var (exit, stdout, stderr) = MoeProcess.Run("adapt", "--moe", model.ArtifactPath, "--data", model.DomainText, "--out", output,
            "--experts", "0:1,1:2", "--steps", "30", "--lr", "0.01", "--batch-size", "4", "--sequence-length", "32", "--seed", "3",
            "--eval", model.GeneralText, "--eval-windows", "8", "--json");

        Assert.True(exit == 0, stderr);
        using JsonDocument report = JsonDocument.Parse(stdout);
        JsonElement r = report.RootElement;
        Assert.Equal([(0, 1), (1, 2)], r.GetProperty("experts").EnumerateArray().Select(e => (e.GetProperty("layer").GetInt32(), e.GetProperty("expert").GetInt32())));
        Assert.True(r.GetProperty("domainAfter").GetDouble() < r.GetProperty("domainBefore").GetDouble(), stdout);
        Assert.True(r.GetProperty("generalBefore").GetDouble() > 0);

        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "moe.json")));
        JsonElement adaptation = manifest.RootElement.GetProperty("adaptation");
        Assert.Equal(1, manifest.RootElement.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("explicit", adaptation.GetProperty("selection").GetString());
        Assert.Equal(30, adaptation.GetProperty("steps").GetInt32());
        Assert.Equal(0.01, adaptation.GetProperty("learningRate").GetDouble());
        Assert.Equal(3, adaptation.GetProperty("seed").GetInt32());
        byte[] data = File.ReadAllBytes(model.DomainText);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(data)), adaptation.GetProperty("data").GetProperty("sha256").GetString());
        Assert.Equal(data.LongLength, adaptation.GetProperty("data").GetProperty("bytes").GetInt64());
        Assert.Equal([0, 1], adaptation.GetProperty("routers").EnumerateArray().Select(e => e.GetInt32()));

        // The written artifact, opened afresh, scores exactly what adapt reported for the adapted model.
        var (evalExit, evalOut, evalErr) = MoeProcess.Run("eval", "--model", output, "--text", model.DomainText, "--window", "128", "--max-windows", "8", "--json");
        Assert.True(evalExit == 0, evalErr);
        using JsonDocument evaluation = JsonDocument.Parse(evalOut);
        Assert.Equal(r.GetProperty("domainAfter").GetDouble(), evaluation.RootElement.GetProperty("perplexity").GetDouble(), 6);
    }

    [Fact]
    public void AdaptPrintsABeforeAfterTableWithTheDenseBaseline()
    {
        var (exit, stdout, stderr) = MoeProcess.Run("adapt", "--moe", model.ArtifactPath, "--data", model.DomainText, "--out", model.NewPath(".moe"),
            "--steps", "5", "--batch-size", "2", "--sequence-length", "32", "--eval", model.GeneralText, "--eval-windows", "2", "--baseline", model.DensePath);

        Assert.True(exit == 0, stderr);
        Assert.Contains("MoE adapted", stdout);
        Assert.Contains("dense FFN-tuned", stdout);
        Assert.Contains("domain", stdout);
        Assert.Contains("general", stdout);
        Assert.Contains("dense baseline: whole FFN", stderr);
    }

    [Fact]
    public void AdaptRejectsDenseModelsAndExpertsTheModelLacks()
    {
        var (exit, stdout, stderr) = MoeProcess.Run("adapt", "--moe", model.DensePath, "--data", model.DomainText, "--out", model.NewPath(".moe"));
        Assert.Equal(1, exit);
        Assert.Contains("moe convert", stderr);
        Assert.Equal("", stdout);

        (exit, _, stderr) = MoeProcess.Run("adapt", "--moe", model.ArtifactPath, "--data", model.DomainText, "--out", model.NewPath(".moe"), "--experts", "0:9", "--steps", "1");
        Assert.Equal(1, exit);
        Assert.Contains("experts 0..3", stderr);
        Assert.DoesNotContain("   at ", stderr);

        (exit, _, stderr) = MoeProcess.Run("adapt", "--moe", model.ArtifactPath, "--data", model.DomainText, "--out", model.NewPath(".moe"), "--experts", "first");
        Assert.Equal(1, exit);
        Assert.Contains("layer:expert", stderr);
    }

    [Fact]
    public void ExpertsHtmlReportIsWellFormedAndItsHeatmapShowsTheJsonCounts()
    {
        string html = model.NewPath(".html");
        var (exit, stdout, stderr) = MoeProcess.Run("experts", "--moe", model.ArtifactPath, "--text", model.DomainText, "--html", html,
            "--max-windows", "6", "--sample-tokens", "100", "--layer", "1", "--json");

        Assert.True(exit == 0, stderr);
        using JsonDocument report = JsonDocument.Parse(stdout);
        long tokens = report.RootElement.GetProperty("tokens").GetInt64();
        Assert.Equal(6 * 128, tokens);
        var expected = new Dictionary<(int, int), long>();
        foreach (JsonElement layer in report.RootElement.GetProperty("layers").EnumerateArray())
        {
            long sum = 0;
            foreach (JsonElement expert in layer.GetProperty("experts").EnumerateArray())
            {
                long count = expert.GetProperty("count").GetInt64();
                expected[(layer.GetProperty("layer").GetInt32(), expert.GetProperty("expert").GetInt32())] = count;
                sum += count;
            }
            Assert.Equal(tokens * layer.GetProperty("topK").GetInt32(), sum);
        }

        // Parsing as XML proves the page well-formed (every element closed, every character escaped).
        XDocument page;
        using (var reader = XmlReader.Create(html, new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore }))
        {
            page = XDocument.Load(reader);
        }
        XNamespace svg = "http://www.w3.org/2000/svg";
        var cells = page.Descendants(svg + "rect").Where(r => r.Attribute("data-count") is not null).ToList();
        Assert.Equal(expected.Count, cells.Count);
        foreach (XElement cell in cells)
        {
            var key = ((int)cell.Attribute("data-layer")!, (int)cell.Attribute("data-expert")!);
            Assert.Equal(expected[key], (long)cell.Attribute("data-count")!);
            string label = cell.Parent!.Elements(svg + "text").Single().Value;
            Assert.Equal(expected[key].ToString(CultureInfo.InvariantCulture), label);
        }
        Assert.DoesNotContain(page.Descendants(), e => e.Name.LocalName is "script" or "link" or "img" or "iframe");
        Assert.DoesNotContain(page.Descendants().Attributes(), a => a.Name.LocalName is "src" or "href");

        var samples = page.Descendants().Where(e => e.Name.LocalName == "div" && (string?)e.Attribute("class") == "sample").ToList();
        Assert.Equal(2, samples.Count);
        Assert.All(samples, s => Assert.Equal(100, s.Elements().Count(e => e.Attribute("data-experts") is not null)));
        XElement open = page.Descendants().Single(e => e.Name.LocalName == "details" && e.Attribute("open") is not null);
        Assert.Equal("1", (string?)open.Descendants().First(e => e.Attribute("data-layer") is not null).Attribute("data-layer"));
    }

    [Fact]
    public void ExpertsPrintsEachLayersLoadAndImbalance()
    {
        var (exit, stdout, stderr) = MoeProcess.Run("experts", "--moe", model.ArtifactPath, "--text", model.DomainText, "--max-windows", "2");
        Assert.True(exit == 0, stderr);
        Assert.Contains("layer 0: top-2 of 4, imbalance", stdout);
        Assert.Contains("layer 1: top-2 of 4, imbalance", stdout);
        Assert.Contains("256 tokens routed", stdout);
    }
}
