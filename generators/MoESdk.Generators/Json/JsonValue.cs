using System.Collections.Generic;

namespace MoESdk.Generators.Json;

/// <summary>A parsed JSON value and where it starts in the text, so diagnostics can point at it.</summary>
internal abstract class JsonValue
{
    protected JsonValue(int position) => Position = position;

    /// <summary>Character offset of the value's first character.</summary>
    public int Position { get; }
}

/// <summary>A JSON object; member order is kept, a repeated name keeps its last value (as System.Text.Json does).</summary>
internal sealed class JsonObject : JsonValue
{
    public JsonObject(int position, IReadOnlyDictionary<string, JsonValue> members)
        : base(position) => Members = members;

    public IReadOnlyDictionary<string, JsonValue> Members { get; }
}

/// <summary>A JSON array.</summary>
internal sealed class JsonArray : JsonValue
{
    public JsonArray(int position, IReadOnlyList<JsonValue> items)
        : base(position) => Items = items;

    public IReadOnlyList<JsonValue> Items { get; }
}

/// <summary>A JSON string, unescaped.</summary>
internal sealed class JsonString : JsonValue
{
    public JsonString(int position, string value)
        : base(position) => Value = value;

    public string Value { get; }
}

/// <summary>A JSON number, kept as its text so integers and doubles are read without loss.</summary>
internal sealed class JsonNumber : JsonValue
{
    public JsonNumber(int position, string text)
        : base(position) => Text = text;

    public string Text { get; }
}

/// <summary><c>true</c>, <c>false</c> or <c>null</c>.</summary>
internal sealed class JsonLiteral : JsonValue
{
    public JsonLiteral(int position, string text)
        : base(position) => Text = text;

    public string Text { get; }
}
