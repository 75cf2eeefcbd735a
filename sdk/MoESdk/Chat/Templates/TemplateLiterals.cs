namespace MoESdk.Chat.Templates;

/// <summary>
/// The strings a template writes (its text and string literals) and the strings it looks for in its data (literals
/// passed to a method or filter, such as <c>content.split('&lt;/think&gt;')</c>, or tested with <c>in</c>).
/// </summary>
internal sealed class TemplateLiterals
{
    public List<string> Written { get; } = [];

    public List<string> Inspected { get; } = [];

    public static TemplateLiterals Of(IReadOnlyList<Statement> body)
    {
        var literals = new TemplateLiterals();
        literals.Visit(body);
        return literals;
    }

    private void Visit(IEnumerable<Statement> body)
    {
        foreach (Statement statement in body)
        {
            switch (statement)
            {
                case TextStatement text:
                    Written.Add(text.Text);
                    break;
                case OutputStatement output:
                    Visit(output.Value, inspected: false);
                    break;
                case IfStatement conditional:
                    foreach ((Expression condition, IReadOnlyList<Statement> branch) in conditional.Branches)
                    {
                        Visit(condition, inspected: false);
                        Visit(branch);
                    }
                    Visit(conditional.Else);
                    break;
                case ForStatement loop:
                    Visit(loop.Iterable, inspected: false);
                    Visit(loop.Condition, inspected: false);
                    Visit(loop.Body);
                    Visit(loop.Else);
                    break;
                case SetStatement set:
                    Visit(set.Value, inspected: false);
                    break;
                case BlockSetStatement blockSet:
                    Visit(blockSet.Body);
                    break;
                case MacroStatement macro:
                    Visit(macro.Body);
                    break;
                case CallBlockStatement call:
                    Visit(call.Call, inspected: false);
                    Visit(call.Body);
                    break;
                case FilterBlockStatement filter:
                    Visit(filter.Body);
                    break;
            }
        }
    }

    private void Visit(Expression? expression, bool inspected)
    {
        switch (expression)
        {
            case LiteralExpression { Value: string text }:
                (inspected ? Inspected : Written).Add(text);
                break;
            case ListExpression list:
                list.Items.ToList().ForEach(i => Visit(i, inspected));
                break;
            case DictExpression dict:
                dict.Entries.ToList().ForEach(e => { Visit(e.Key, inspected); Visit(e.Value, inspected); });
                break;
            case AttributeExpression attribute:
                Visit(attribute.Target, inspected);
                break;
            case ItemExpression item:
                Visit(item.Target, inspected);
                Visit(item.Index, inspected: true);
                break;
            case SliceExpression slice:
                Visit(slice.Target, inspected);
                break;
            case CallExpression call:
                Visit(call.Callee, inspected);
                VisitArguments(call.Arguments, call.Callee is AttributeExpression);
                break;
            case FilterExpression filter:
                Visit(filter.Target, inspected);
                VisitArguments(filter.Arguments, inspected: true);
                break;
            case TestExpression test:
                Visit(test.Target, inspected);
                VisitArguments(test.Arguments, inspected: true);
                break;
            case UnaryExpression unary:
                Visit(unary.Operand, inspected);
                break;
            case BinaryExpression { Operator: "in" or "not in" } membership:
                Visit(membership.Left, inspected: true);
                Visit(membership.Right, inspected);
                break;
            case BinaryExpression { Operator: "==" or "!=" } comparison:
                Visit(comparison.Left, inspected: true);
                Visit(comparison.Right, inspected: true);
                break;
            case BinaryExpression binary:
                Visit(binary.Left, inspected);
                Visit(binary.Right, inspected);
                break;
            case ConditionalExpression conditional:
                Visit(conditional.Condition, inspected: false);
                Visit(conditional.Then, inspected);
                Visit(conditional.Else, inspected);
                break;
        }
    }

    /// <summary>A method's arguments (<c>content.split('x')</c>) are looked for in data; a macro's or global's are written.</summary>
    private void VisitArguments(Arguments arguments, bool inspected)
    {
        foreach (Expression argument in arguments.Positional)
        {
            Visit(argument, inspected);
        }
        foreach ((_, Expression value) in arguments.Named)
        {
            Visit(value, inspected);
        }
    }
}
