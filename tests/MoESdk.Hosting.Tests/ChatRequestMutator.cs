using System.Text;
using System.Text.Json.Nodes;
using MoESdk.Tests.Hostile;

namespace MoESdk.Hosting.Tests;

/// <summary>
/// Seeded damage to chat-completion request bodies: values of the wrong type, extreme numbers, NaN written as text,
/// deep nesting, huge arrays and strings, unknown and duplicate fields, invalid UTF-8, then sometimes the byte-level
/// edits and truncations of <see cref="Mutator"/>; and the content type the body is sent with.
/// </summary>
internal sealed class ChatRequestMutator(int seed)
{
    // A value is first replaced by this string, then its serialized form by raw bytes that JsonNode cannot hold.
    private const string Placeholder = "@@fuzz-value@@";

    private static readonly string[] Valid =
    [
        """{"model":"kjv-llama","messages":[{"role":"user","content":"And God said"}],"max_tokens":2,"temperature":0}""",
        """{"messages":[{"role":"system","content":"Answer briefly."},{"role":"user","content":[{"type":"text","text":"In the beginning"}]}],"max_tokens":1}""",
        """{"model":"kjv-llama","messages":[{"role":"user","content":"Let there be light"}],"max_completion_tokens":2,"stream":true,"stream_options":{"include_usage":true}}""",
        """{"model":"kjv-llama","messages":[{"role":"user","content":"And the earth"},{"role":"assistant","content":"was"},{"role":"user","content":"without form"}],"max_tokens":2,"temperature":0.7,"top_p":0.9,"seed":7,"n":1,"stop":["\n","."],"experts_per_token":1}""",
    ];

    private static readonly string[] Scalars =
    [
        "null", "true", "false", "0", "-1", "1.5", "-0", "1e308", "1e999", "-1e999", "2147483648", "-2147483649", "9223372036854775808",
        "100000000000000000000", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"1\"", "\"\"", "\"x\"", "NaN", "Infinity", "{}", "[]", "[null]",
        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"http://x\"}}", "\"\\uD800\"", "\"\\u0000\"", "\"user\"", "\"tool\"",
    ];

    private static readonly string[] UnknownFields = ["logit_bias", "tools", "response_format", "user", "functions", "x", "", "MODEL", "Max_Tokens", "messages", "stream"];

    private static readonly string[] ContentTypes =
    [
        "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16",
        "application/problem+json", "application/json; charset=\"", "*/*", "application/jsonx", "",
    ];

    private readonly Mutator _bytes = new(seed);

    private Random Random => _bytes.Random;

    /// <summary>A valid request body, to check the server still serves.</summary>
    public static string ValidBody => Valid[0];

    /// <summary>The next damaged body and the content type to send it with (null: no Content-Type header).</summary>
    public (byte[] Body, string? ContentType) Next()
    {
        var request = JsonNode.Parse(Valid[Random.Next(Valid.Length)])!;
        byte[] raw = [];
        for (int edits = 1 + Random.Next(3); edits > 0; edits--)
        {
            switch (Random.Next(4))
            {
                case 0:
                    raw = RawValue();
                    Replace(request, Placeholder);
                    break;
                case 1:
                    JsonObject target = Objects(request)[Random.Next(Objects(request).Count)];
                    target[UnknownFields[Random.Next(UnknownFields.Length)] + (Random.Next(4) == 0 ? "" : "_" + Random.Next(9))] = Scalar();
                    break;
                case 2:
                    Remove(request);
                    break;
                default:
                    Replace(request, Scalar());
                    break;
            }
        }
        byte[] body = Splice(Encoding.UTF8.GetBytes(request.ToJsonString()), raw);
        body = Random.Next(4) switch
        {
            0 => _bytes.Text(body),
            1 => body[..Random.Next(body.Length)],
            _ => body,
        };
        string? contentType = Random.Next(8) != 0 ? "application/json" : Random.Next(10) == 0 ? null : ContentTypes[Random.Next(ContentTypes.Length)];
        return (body, contentType);
    }

    private JsonNode? Scalar() => JsonNode.Parse(Scalars[Random.Next(20)]);

    // Raw JSON (or not JSON) that a node cannot hold: bare NaN, numbers past every type, deep nesting, huge arrays and strings, invalid UTF-8.
    private byte[] RawValue()
    {
        int depth = new[] { 63, 64, 65, 1_000, 100_000 }[Random.Next(5)];
        string element = new[] { "1", "\"a\"", "null", "{\"role\":\"user\",\"content\":\"a\"}", "{}" }[Random.Next(5)];
        // Huge, but under the server's 1 MB body limit: a bigger body is refused before it is read (tested apart).
        int count = Math.Min(new[] { 1_000, 10_000, 100_000 }[Random.Next(3)], 800_000 / (element.Length + 1));
        return Random.Next(6) switch
        {
            0 => Encoding.UTF8.GetBytes(Scalars[Random.Next(Scalars.Length)]),
            1 => Encoding.UTF8.GetBytes(Random.Next(2) == 0 ? new string('[', depth) + new string(']', depth) : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth)),
            2 => Encoding.UTF8.GetBytes("[" + string.Join(',', Enumerable.Repeat(element, count)) + "]"),
            3 => Encoding.UTF8.GetBytes("\"" + new string('a', Math.Min(count * (1 + Random.Next(5)), 800_000)) + "\""),
            4 => [.. "\"ab"u8, 0xFF, 0xC3, 0x28, 0xED, 0xA0, 0x80, .. "cd\""u8],
            _ => Encoding.UTF8.GetBytes(new string('[', depth / 2)),
        };
    }

    private void Replace(JsonNode root, JsonNode? value)
    {
        List<JsonNode> nodes = Descendants(root);
        JsonNode node = nodes[Random.Next(nodes.Count)];
        if (node.Parent is null)
        {
            return; // the root itself: keep the body an object most of the time
        }
        node.ReplaceWith(value);
    }

    private void Remove(JsonNode root)
    {
        List<JsonNode> nodes = Descendants(root).Where(n => n.Parent is not null).ToList();
        if (nodes.Count == 0)
        {
            return;
        }
        JsonNode node = nodes[Random.Next(nodes.Count)];
        switch (node.Parent)
        {
            case JsonObject parent:
                parent.Remove(node.GetPropertyName());
                break;
            case JsonArray parent:
                parent.Remove(node);
                break;
        }
    }

    private static List<JsonNode> Descendants(JsonNode root)
    {
        var nodes = new List<JsonNode> { root };
        for (int i = 0; i < nodes.Count; i++)
        {
            IEnumerable<JsonNode?> children = nodes[i] switch
            {
                JsonObject o => o.Select(p => p.Value),
                JsonArray a => a,
                _ => [],
            };
            nodes.AddRange(children.OfType<JsonNode>());
        }
        return nodes;
    }

    private static List<JsonObject> Objects(JsonNode root) => Descendants(root).OfType<JsonObject>().ToList();

    private static byte[] Splice(byte[] body, byte[] raw)
    {
        byte[] marker = Encoding.UTF8.GetBytes($"\"{Placeholder}\"");
        int at = body.AsSpan().IndexOf(marker);
        return at < 0 ? body : [.. body[..at], .. raw, .. body[(at + marker.Length)..]];
    }
}
