using System.Globalization;

namespace MoESdk.Chat.Templates;

/// <summary>
/// Builds the syntax tree of a template from its tokens, with Jinja's operator precedence (loosest first):
/// conditional <c>a if c else b</c>, <c>or</c>, <c>and</c>, <c>not</c>, comparisons and <c>in</c>, <c>+ -</c>,
/// <c>~</c>, <c>* / // %</c>, <c>**</c>, unary <c>-</c>, then postfix access, calls, filters and tests.
/// </summary>
internal sealed class TemplateParser
{
    private static readonly HashSet<string> Comparisons = ["==", "!=", "<", ">", "<=", ">="];

    private readonly TemplateSource _source;
    private readonly List<TemplateToken> _tokens;
    private int _index;

    private TemplateParser(TemplateSource source, List<TemplateToken> tokens)
    {
        _source = source;
        _tokens = tokens;
    }

    public static IReadOnlyList<Statement> Parse(TemplateSource source)
    {
        var parser = new TemplateParser(source, TemplateLexer.Tokenize(source));
        List<Statement> body = parser.ParseBody([], out string? end);
        if (end is not null)
        {
            throw parser.Error(parser.Current, $"'{{% {end} %}}' closes no open block.");
        }
        return body;
    }

    private TemplateToken Current => _tokens[_index];

    private TemplateToken Next() => _tokens[_index++];

    /// <summary>Statements until a block tag named in <paramref name="ends"/> (left as the current tag's name, consumed) or the end.</summary>
    private List<Statement> ParseBody(string[] ends, out string? end)
    {
        var body = new List<Statement>();
        while (true)
        {
            TemplateToken token = Current;
            switch (token.Kind)
            {
                case TokenKind.End:
                    if (ends.Length > 0)
                    {
                        throw Error(token, $"the template ends inside a block: expected '{{% {ends[^1]} %}}'.");
                    }
                    end = null;
                    return body;
                case TokenKind.Text:
                    body.Add(new TextStatement(token.Offset, Next().Text));
                    break;
                case TokenKind.VariableStart:
                    Next();
                    body.Add(new OutputStatement(token.Offset, ParseExpression()));
                    Expect(TokenKind.VariableEnd, "'}}'");
                    break;
                case TokenKind.BlockStart:
                    TemplateToken keyword = _tokens[_index + 1];
                    if (keyword.Kind != TokenKind.Name)
                    {
                        throw Error(keyword, "expected a statement name after '{%'.");
                    }
                    if (ends.Contains(keyword.Text) || keyword.Text.StartsWith("end", StringComparison.Ordinal) || keyword.Text is "elif" or "else")
                    {
                        if (!ends.Contains(keyword.Text))
                        {
                            throw Error(keyword, $"unexpected '{{% {keyword.Text} %}}'" + (ends.Length > 0 ? $": expected '{{% {ends[^1]} %}}'." : "."));
                        }
                        _index += 2;
                        end = keyword.Text;
                        return body;
                    }
                    _index += 2;
                    Statement? statement = ParseStatement(keyword);
                    if (statement is not null)
                    {
                        body.Add(statement);
                    }
                    break;
                default:
                    throw Error(token, $"unexpected '{token.Text}'.");
            }
        }
    }

    private Statement? ParseStatement(TemplateToken keyword)
    {
        int at = keyword.Offset;
        switch (keyword.Text)
        {
            case "if":
                return ParseIf(at);
            case "for":
                return ParseFor(at);
            case "set":
                return ParseSet(at);
            case "macro":
                return ParseMacro(at);
            case "call":
                return ParseCallBlock(at);
            case "filter":
                List<FilterExpression> filters = ParseFilterChain(new NameExpression(at, ""));
                Expect(TokenKind.BlockEnd, "'%}'");
                return new FilterBlockStatement(at, filters, ParseBlock("endfilter"));
            case "break":
                Expect(TokenKind.BlockEnd, "'%}'");
                return new BreakStatement(at);
            case "continue":
                Expect(TokenKind.BlockEnd, "'%}'");
                return new ContinueStatement(at);
            case "generation":
                // Hugging Face's marker of the assistant's text (for training masks): renders its body as is.
                Expect(TokenKind.BlockEnd, "'%}'");
                List<Statement> body = ParseBlock("endgeneration");
                return new IfStatement(at, [(new LiteralExpression(at, true), body)], []);
            default:
                throw Error(keyword, $"unknown statement '{{% {keyword.Text} %}}'; chat templates support if, for, set, macro, call, filter, break, continue, generation and raw.");
        }
    }

    private List<Statement> ParseBlock(string end)
    {
        List<Statement> body = ParseBody([end], out _);
        Expect(TokenKind.BlockEnd, "'%}'");
        return body;
    }

    private IfStatement ParseIf(int at)
    {
        var branches = new List<(Expression, IReadOnlyList<Statement>)>();
        Expression condition = ParseExpression();
        while (true)
        {
            Expect(TokenKind.BlockEnd, "'%}'");
            List<Statement> body = ParseBody(["elif", "else", "endif"], out string? end);
            branches.Add((condition, body));
            if (end == "elif")
            {
                condition = ParseExpression();
                continue;
            }
            if (end == "else")
            {
                Expect(TokenKind.BlockEnd, "'%}'");
                return new IfStatement(at, branches, ParseBlock("endif"));
            }
            Expect(TokenKind.BlockEnd, "'%}'");
            return new IfStatement(at, branches, []);
        }
    }

    private ForStatement ParseFor(int at)
    {
        var targets = new List<string> { ExpectName() };
        while (IsOperator(","))
        {
            Next();
            targets.Add(ExpectName());
        }
        ExpectKeyword("in");
        Expression iterable = ParseConditional(allowCondition: false);
        Expression? condition = null;
        if (IsKeyword("if"))
        {
            Next();
            condition = ParseExpression();
        }
        Expect(TokenKind.BlockEnd, "'%}'");
        List<Statement> body = ParseBody(["else", "endfor"], out string? end);
        List<Statement> otherwise = [];
        Expect(TokenKind.BlockEnd, "'%}'");
        if (end == "else")
        {
            otherwise = ParseBlock("endfor");
        }
        return new ForStatement(at, targets, iterable, condition, body, otherwise);
    }

    private Statement ParseSet(int at)
    {
        string first = ExpectName();
        if (IsOperator("."))
        {
            Next();
            string attribute = ExpectName();
            ExpectOperator("=");
            Expression value = ParseTupleOrExpression();
            Expect(TokenKind.BlockEnd, "'%}'");
            return new SetStatement(at, [first], attribute, value);
        }
        var targets = new List<string> { first };
        while (IsOperator(","))
        {
            Next();
            targets.Add(ExpectName());
        }
        if (IsOperator("="))
        {
            Next();
            Expression value = ParseTupleOrExpression();
            Expect(TokenKind.BlockEnd, "'%}'");
            return new SetStatement(at, targets, null, value);
        }
        if (targets.Count > 1)
        {
            throw Error(Current, "a block set assigns one name.");
        }
        List<FilterExpression> filters = IsOperator("|") ? ParseFilterChain(new NameExpression(at, "")) : [];
        Expect(TokenKind.BlockEnd, "'%}'");
        return new BlockSetStatement(at, first, filters, ParseBlock("endset"));
    }

    private MacroStatement ParseMacro(int at)
    {
        string name = ExpectName();
        List<(string, Expression?)> parameters = ParseParameters();
        Expect(TokenKind.BlockEnd, "'%}'");
        return new MacroStatement(at, name, parameters, ParseBlock("endmacro"));
    }

    private CallBlockStatement ParseCallBlock(int at)
    {
        List<(string, Expression?)> callerParameters = IsOperator("(") ? ParseParameters() : [];
        Expression call = ParsePrimaryWithPostfix();
        if (call is not CallExpression callExpression)
        {
            throw Error(Current, "'{% call %}' needs a macro call, as in '{% call m(x) %}'.");
        }
        Expect(TokenKind.BlockEnd, "'%}'");
        return new CallBlockStatement(at, callExpression, callerParameters, ParseBlock("endcall"));
    }

    private List<(string, Expression?)> ParseParameters()
    {
        ExpectOperator("(");
        var parameters = new List<(string, Expression?)>();
        while (!IsOperator(")"))
        {
            string name = ExpectName();
            Expression? value = null;
            if (IsOperator("="))
            {
                Next();
                value = ParseExpression();
            }
            parameters.Add((name, value));
            if (!IsOperator(")"))
            {
                ExpectOperator(",");
            }
        }
        Next();
        return parameters;
    }

    /// <summary><c>a, b</c> without brackets is a tuple (in <c>set</c>).</summary>
    private Expression ParseTupleOrExpression()
    {
        Expression first = ParseExpression();
        if (!IsOperator(","))
        {
            return first;
        }
        var items = new List<Expression> { first };
        while (IsOperator(","))
        {
            Next();
            items.Add(ParseExpression());
        }
        return new ListExpression(first.Offset, items, IsTuple: true);
    }

    private Expression ParseExpression() => ParseConditional(allowCondition: true);

    private Expression ParseConditional(bool allowCondition)
    {
        Expression value = ParseOr();
        while (allowCondition && IsKeyword("if"))
        {
            Next();
            Expression condition = ParseOr();
            Expression? otherwise = null;
            if (IsKeyword("else"))
            {
                Next();
                otherwise = ParseConditional(allowCondition: true);
            }
            value = new ConditionalExpression(value.Offset, condition, value, otherwise);
        }
        return value;
    }

    private Expression ParseOr()
    {
        Expression left = ParseAnd();
        while (IsKeyword("or"))
        {
            Next();
            left = new BinaryExpression(left.Offset, "or", left, ParseAnd());
        }
        return left;
    }

    private Expression ParseAnd()
    {
        Expression left = ParseNot();
        while (IsKeyword("and"))
        {
            Next();
            left = new BinaryExpression(left.Offset, "and", left, ParseNot());
        }
        return left;
    }

    private Expression ParseNot()
    {
        if (IsKeyword("not"))
        {
            int at = Next().Offset;
            return new UnaryExpression(at, "not", ParseNot());
        }
        return ParseComparison();
    }

    private Expression ParseComparison()
    {
        Expression left = ParseAdditive();
        while (true)
        {
            if (Current.Kind == TokenKind.Operator && Comparisons.Contains(Current.Text))
            {
                string op = Next().Text;
                left = new BinaryExpression(left.Offset, op, left, ParseAdditive());
            }
            else if (IsKeyword("in"))
            {
                Next();
                left = new BinaryExpression(left.Offset, "in", left, ParseAdditive());
            }
            else if (IsKeyword("not") && _tokens[_index + 1] is { Kind: TokenKind.Name, Text: "in" })
            {
                _index += 2;
                left = new BinaryExpression(left.Offset, "not in", left, ParseAdditive());
            }
            else
            {
                return left;
            }
        }
    }

    private Expression ParseAdditive()
    {
        Expression left = ParseConcat();
        while (IsOperator("+") || IsOperator("-"))
        {
            string op = Next().Text;
            left = new BinaryExpression(left.Offset, op, left, ParseConcat());
        }
        return left;
    }

    private Expression ParseConcat()
    {
        Expression left = ParseMultiplicative();
        while (IsOperator("~"))
        {
            Next();
            left = new BinaryExpression(left.Offset, "~", left, ParseMultiplicative());
        }
        return left;
    }

    private Expression ParseMultiplicative()
    {
        Expression left = ParsePower();
        while (IsOperator("*") || IsOperator("/") || IsOperator("//") || IsOperator("%"))
        {
            string op = Next().Text;
            left = new BinaryExpression(left.Offset, op, left, ParsePower());
        }
        return left;
    }

    private Expression ParsePower()
    {
        Expression left = ParseUnary();
        while (IsOperator("**"))
        {
            Next();
            left = new BinaryExpression(left.Offset, "**", left, ParseUnary());
        }
        return left;
    }

    private Expression ParseUnary()
    {
        if (IsOperator("-") || IsOperator("+"))
        {
            TemplateToken op = Next();
            return ParseFiltersAndTests(new UnaryExpression(op.Offset, op.Text, ParseUnaryOperand()));
        }
        return ParseFiltersAndTests(ParsePrimaryWithPostfix());
    }

    private Expression ParseUnaryOperand() =>
        IsOperator("-") || IsOperator("+") ? new UnaryExpression(Current.Offset, Next().Text, ParseUnaryOperand()) : ParsePrimaryWithPostfix();

    private Expression ParseFiltersAndTests(Expression value)
    {
        while (true)
        {
            if (IsOperator("|"))
            {
                value = ParseFilterChain(value)[^1];
            }
            else if (IsKeyword("is"))
            {
                int at = Next().Offset;
                bool negated = false;
                if (IsKeyword("not"))
                {
                    Next();
                    negated = true;
                }
                string name = Current.Kind == TokenKind.Name ? Next().Text : ExpectTestName();
                Arguments arguments = Arguments.None;
                if (IsOperator("("))
                {
                    arguments = ParseArguments();
                }
                else if (Current.Kind is TokenKind.String or TokenKind.Integer or TokenKind.Float ||
                    (Current.Kind == TokenKind.Name && !IsKeywordName(Current.Text)))
                {
                    // `x is divisibleby 3`, `x is sameas none`: one argument without parentheses.
                    arguments = new Arguments([ParsePrimaryWithPostfix()], []);
                }
                value = new TestExpression(at, value, name, arguments, negated);
            }
            else
            {
                return value;
            }
        }
    }

    /// <summary>Tests named by an operator: <c>x is == y</c> is rare, but <c>is eq</c> and friends are names.</summary>
    private string ExpectTestName()
    {
        if (Current.Kind == TokenKind.Operator && Comparisons.Contains(Current.Text))
        {
            return Next().Text;
        }
        throw Error(Current, "expected a test name after 'is'.");
    }

    private static bool IsKeywordName(string name) => name is "and" or "or" or "not" or "in" or "is" or "if" or "else";

    /// <summary><c>| f | g(x)</c>: each filter applies to the previous one (the last element is the whole chain).</summary>
    private List<FilterExpression> ParseFilterChain(Expression target)
    {
        var filters = new List<FilterExpression>();
        if (target is NameExpression { Name: "" } && !IsOperator("|"))
        {
            // `{% filter upper %}`: the first filter has no leading pipe.
            filters.Add(ParseOneFilter(target, Current.Offset));
            target = filters[^1];
        }
        while (IsOperator("|"))
        {
            int at = Next().Offset;
            filters.Add(ParseOneFilter(target, at));
            target = filters[^1];
        }
        return filters;
    }

    private FilterExpression ParseOneFilter(Expression target, int at)
    {
        string name = ExpectName();
        while (IsOperator(".") && _tokens[_index + 1].Kind == TokenKind.Name)
        {
            Next();
            name += "." + Next().Text;
        }
        Arguments arguments = IsOperator("(") ? ParseArguments() : Arguments.None;
        return new FilterExpression(at, target, name, arguments);
    }

    private Arguments ParseArguments()
    {
        ExpectOperator("(");
        var positional = new List<Expression>();
        var named = new List<(string, Expression)>();
        while (!IsOperator(")"))
        {
            if (Current.Kind == TokenKind.Name && _tokens[_index + 1] is { Kind: TokenKind.Operator, Text: "=" })
            {
                string name = Next().Text;
                Next();
                named.Add((name, ParseExpression()));
            }
            else
            {
                if (named.Count > 0)
                {
                    throw Error(Current, "a positional argument follows a keyword argument.");
                }
                positional.Add(ParseExpression());
            }
            if (!IsOperator(")"))
            {
                ExpectOperator(",");
            }
        }
        Next();
        return new Arguments(positional, named);
    }

    private Expression ParsePrimaryWithPostfix()
    {
        Expression value = ParsePrimary();
        while (true)
        {
            if (IsOperator("."))
            {
                int at = Next().Offset;
                TemplateToken name = Next();
                if (name.Kind == TokenKind.Integer)
                {
                    value = new ItemExpression(at, value, new LiteralExpression(name.Offset, long.Parse(name.Text, CultureInfo.InvariantCulture)));
                    continue;
                }
                if (name.Kind != TokenKind.Name)
                {
                    throw Error(name, "expected an attribute name after '.'.");
                }
                value = new AttributeExpression(at, value, name.Text);
            }
            else if (IsOperator("["))
            {
                value = ParseSubscript(value);
            }
            else if (IsOperator("("))
            {
                int at = Current.Offset;
                value = new CallExpression(at, value, ParseArguments());
            }
            else
            {
                return value;
            }
        }
    }

    private Expression ParseSubscript(Expression target)
    {
        int at = Next().Offset;
        Expression?[] parts = new Expression?[3];
        int part = 0;
        bool isSlice = false;
        while (!IsOperator("]"))
        {
            if (IsOperator(":"))
            {
                Next();
                isSlice = true;
                part++;
                if (part > 2)
                {
                    throw Error(Current, "a slice has at most three parts, as in [start:stop:step].");
                }
                continue;
            }
            parts[part] = ParseExpression();
            if (!isSlice && !IsOperator("]") && !IsOperator(":"))
            {
                throw Error(Current, "expected ']' or ':' in a subscript.");
            }
        }
        Next();
        if (isSlice)
        {
            return new SliceExpression(at, target, parts[0], parts[1], parts[2]);
        }
        return new ItemExpression(at, target, parts[0] ?? throw Error(Current, "an empty subscript '[]'."));
    }

    private Expression ParsePrimary()
    {
        TemplateToken token = Next();
        switch (token.Kind)
        {
            case TokenKind.String:
                string text = token.Text;
                // Adjacent string literals join, as in Python.
                while (Current.Kind == TokenKind.String)
                {
                    text += Next().Text;
                }
                return new LiteralExpression(token.Offset, text);
            case TokenKind.Integer:
                return new LiteralExpression(token.Offset, long.Parse(token.Text, CultureInfo.InvariantCulture));
            case TokenKind.Float:
                return new LiteralExpression(token.Offset, double.Parse(token.Text, CultureInfo.InvariantCulture));
            case TokenKind.Name:
                return token.Text switch
                {
                    "true" or "True" => new LiteralExpression(token.Offset, true),
                    "false" or "False" => new LiteralExpression(token.Offset, false),
                    "none" or "None" => new LiteralExpression(token.Offset, null),
                    _ => new NameExpression(token.Offset, token.Text),
                };
            case TokenKind.Operator when token.Text == "(":
                if (IsOperator(")"))
                {
                    Next();
                    return new ListExpression(token.Offset, [], IsTuple: true);
                }
                Expression inner = ParseExpression();
                if (IsOperator(","))
                {
                    var items = new List<Expression> { inner };
                    while (IsOperator(","))
                    {
                        Next();
                        if (IsOperator(")"))
                        {
                            break;
                        }
                        items.Add(ParseExpression());
                    }
                    ExpectOperator(")");
                    return new ListExpression(token.Offset, items, IsTuple: true);
                }
                ExpectOperator(")");
                return inner;
            case TokenKind.Operator when token.Text == "[":
                var list = new List<Expression>();
                while (!IsOperator("]"))
                {
                    list.Add(ParseExpression());
                    if (!IsOperator("]"))
                    {
                        ExpectOperator(",");
                    }
                }
                Next();
                return new ListExpression(token.Offset, list, IsTuple: false);
            case TokenKind.Operator when token.Text == "{":
                var entries = new List<(Expression, Expression)>();
                while (!IsOperator("}"))
                {
                    Expression key = ParseExpression();
                    ExpectOperator(":");
                    entries.Add((key, ParseExpression()));
                    if (!IsOperator("}"))
                    {
                        ExpectOperator(",");
                    }
                }
                Next();
                return new DictExpression(token.Offset, entries);
            default:
                throw Error(token, token.Kind is TokenKind.BlockEnd or TokenKind.VariableEnd or TokenKind.End
                    ? "an expression is missing."
                    : $"unexpected '{token.Text}' in an expression.");
        }
    }

    private bool IsOperator(string op) => Current.Kind == TokenKind.Operator && Current.Text == op;

    private bool IsKeyword(string name) => Current.Kind == TokenKind.Name && Current.Text == name;

    private void ExpectOperator(string op)
    {
        if (!IsOperator(op))
        {
            throw Error(Current, $"expected '{op}', found {Describe(Current)}.");
        }
        Next();
    }

    private void ExpectKeyword(string name)
    {
        if (!IsKeyword(name))
        {
            throw Error(Current, $"expected '{name}', found {Describe(Current)}.");
        }
        Next();
    }

    private string ExpectName()
    {
        if (Current.Kind != TokenKind.Name)
        {
            throw Error(Current, $"expected a name, found {Describe(Current)}.");
        }
        return Next().Text;
    }

    private void Expect(TokenKind kind, string what)
    {
        if (Current.Kind != kind)
        {
            throw Error(Current, $"expected {what}, found {Describe(Current)}.");
        }
        Next();
    }

    private static string Describe(TemplateToken token) => token.Kind switch
    {
        TokenKind.End => "the end of the template",
        TokenKind.Text => "text",
        TokenKind.String => $"the string '{token.Text}'",
        _ => $"'{token.Text}'",
    };

    private TemplateException Error(TemplateToken token, string problem) => _source.Error(token.Offset, problem);
}
