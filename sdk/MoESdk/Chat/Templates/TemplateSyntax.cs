namespace MoESdk.Chat.Templates;

// The syntax tree of a template. Every node keeps the offset of its first token in the source, so rendering
// errors can name the line and column of the construct that failed.

internal abstract record Expression(int Offset);

internal sealed record LiteralExpression(int Offset, object? Value) : Expression(Offset);

internal sealed record NameExpression(int Offset, string Name) : Expression(Offset);

internal sealed record ListExpression(int Offset, IReadOnlyList<Expression> Items, bool IsTuple) : Expression(Offset);

internal sealed record DictExpression(int Offset, IReadOnlyList<(Expression Key, Expression Value)> Entries) : Expression(Offset);

internal sealed record AttributeExpression(int Offset, Expression Target, string Name) : Expression(Offset);

internal sealed record ItemExpression(int Offset, Expression Target, Expression Index) : Expression(Offset);

internal sealed record SliceExpression(int Offset, Expression Target, Expression? Start, Expression? Stop, Expression? Step) : Expression(Offset);

internal sealed record Arguments(IReadOnlyList<Expression> Positional, IReadOnlyList<(string Name, Expression Value)> Named)
{
    public static readonly Arguments None = new([], []);
}

internal sealed record CallExpression(int Offset, Expression Callee, Arguments Arguments) : Expression(Offset);

internal sealed record FilterExpression(int Offset, Expression Target, string Name, Arguments Arguments) : Expression(Offset);

internal sealed record TestExpression(int Offset, Expression Target, string Name, Arguments Arguments, bool Negated) : Expression(Offset);

internal sealed record UnaryExpression(int Offset, string Operator, Expression Operand) : Expression(Offset);

internal sealed record BinaryExpression(int Offset, string Operator, Expression Left, Expression Right) : Expression(Offset);

internal sealed record ConditionalExpression(int Offset, Expression Condition, Expression Then, Expression? Else) : Expression(Offset);

internal abstract record Statement(int Offset);

internal sealed record TextStatement(int Offset, string Text) : Statement(Offset);

internal sealed record OutputStatement(int Offset, Expression Value) : Statement(Offset);

internal sealed record IfStatement(int Offset, IReadOnlyList<(Expression Condition, IReadOnlyList<Statement> Body)> Branches, IReadOnlyList<Statement> Else)
    : Statement(Offset);

internal sealed record ForStatement(int Offset, IReadOnlyList<string> Targets, Expression Iterable, Expression? Condition,
    IReadOnlyList<Statement> Body, IReadOnlyList<Statement> Else) : Statement(Offset);

/// <summary><c>set a = x</c>, <c>set a, b = x</c> or <c>set ns.attr = x</c> (<see cref="Attribute"/> set).</summary>
internal sealed record SetStatement(int Offset, IReadOnlyList<string> Targets, string? Attribute, Expression Value) : Statement(Offset);

/// <summary><c>{% set name %}…{% endset %}</c>: the rendered body, through optional filters.</summary>
internal sealed record BlockSetStatement(int Offset, string Name, IReadOnlyList<FilterExpression> Filters, IReadOnlyList<Statement> Body) : Statement(Offset);

internal sealed record MacroStatement(int Offset, string Name, IReadOnlyList<(string Name, Expression? Default)> Parameters, IReadOnlyList<Statement> Body)
    : Statement(Offset);

internal sealed record CallBlockStatement(int Offset, CallExpression Call, IReadOnlyList<(string Name, Expression? Default)> CallerParameters,
    IReadOnlyList<Statement> Body) : Statement(Offset);

/// <summary><c>{% filter f %}…{% endfilter %}</c>; the filters' targets are placeholders for the rendered body.</summary>
internal sealed record FilterBlockStatement(int Offset, IReadOnlyList<FilterExpression> Filters, IReadOnlyList<Statement> Body) : Statement(Offset);

internal sealed record BreakStatement(int Offset) : Statement(Offset);

internal sealed record ContinueStatement(int Offset) : Statement(Offset);
