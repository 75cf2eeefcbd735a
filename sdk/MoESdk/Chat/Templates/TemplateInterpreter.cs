using System.Text;

namespace MoESdk.Chat.Templates;

/// <summary>Variables of one scope; lookups fall back to the enclosing scope.</summary>
internal sealed class TemplateScope(TemplateScope? parent)
{
    private readonly Dictionary<string, object?> _variables = new(StringComparer.Ordinal);

    public bool TryGet(string name, out object? value)
    {
        for (TemplateScope? scope = this; scope is not null; scope = scope.Parent)
        {
            if (scope._variables.TryGetValue(name, out value))
            {
                return true;
            }
        }
        value = null;
        return false;
    }

    public void Set(string name, object? value) => _variables[name] = value;

    public TemplateScope? Parent { get; } = parent;
}

/// <summary>
/// Renders a parsed template. Scoping follows Jinja: a <c>for</c> loop and a macro call have their own scope (what
/// they <c>set</c> does not leak out; a <c>namespace</c> carries values across), <c>if</c> does not.
/// </summary>
internal sealed class TemplateInterpreter
{
    private readonly TemplateSource _source;

    public TemplateInterpreter(TemplateSource source)
    {
        _source = source;
    }

    public string Render(IReadOnlyList<Statement> body, TemplateScope scope)
    {
        var output = new StringBuilder();
        try
        {
            Execute(body, scope, output);
        }
        catch (LoopControl control)
        {
            throw _source.Error(control.Offset, $"'{{% {control.Keyword} %}}' outside a for loop.");
        }
        return output.ToString();
    }

    private void Execute(IReadOnlyList<Statement> body, TemplateScope scope, StringBuilder output)
    {
        foreach (Statement statement in body)
        {
            Execute(statement, scope, output);
        }
    }

    private void Execute(Statement statement, TemplateScope scope, StringBuilder output)
    {
        try
        {
            switch (statement)
            {
                case TextStatement text:
                    output.Append(text.Text);
                    break;
                case OutputStatement print:
                    output.Append(TemplateValues.ToText(Evaluate(print.Value, scope)));
                    break;
                case IfStatement conditional:
                    foreach ((Expression condition, IReadOnlyList<Statement> branch) in conditional.Branches)
                    {
                        if (TemplateValues.IsTruthy(Evaluate(condition, scope)))
                        {
                            Execute(branch, scope, output);
                            return;
                        }
                    }
                    Execute(conditional.Else, scope, output);
                    break;
                case ForStatement loop:
                    ExecuteFor(loop, scope, output);
                    break;
                case SetStatement set:
                    ExecuteSet(set, scope);
                    break;
                case BlockSetStatement blockSet:
                    object? captured = RenderBody(blockSet.Body, scope);
                    foreach (FilterExpression filter in blockSet.Filters)
                    {
                        captured = ApplyFilter(filter, captured, scope);
                    }
                    scope.Set(blockSet.Name, captured);
                    break;
                case MacroStatement macro:
                    scope.Set(macro.Name, DefineMacro(macro.Name, macro.Parameters, macro.Body, scope, caller: null));
                    break;
                case CallBlockStatement call:
                    TemplateFunction caller = DefineMacro("caller", call.CallerParameters, call.Body, scope, caller: null);
                    output.Append(TemplateValues.ToText(EvaluateCall(call.Call, scope, caller)));
                    break;
                case FilterBlockStatement filterBlock:
                    object? filtered = RenderBody(filterBlock.Body, scope);
                    foreach (FilterExpression filter in filterBlock.Filters)
                    {
                        filtered = ApplyFilter(filter, filtered, scope);
                    }
                    output.Append(TemplateValues.ToText(filtered));
                    break;
                case BreakStatement:
                    throw new LoopControl("break", statement.Offset);
                case ContinueStatement:
                    throw new LoopControl("continue", statement.Offset);
                default:
                    throw new RenderProblem($"unsupported statement {statement.GetType().Name}.");
            }
        }
        catch (RenderProblem problem)
        {
            throw _source.Error(statement.Offset, problem.Message);
        }
    }

    private string RenderBody(IReadOnlyList<Statement> body, TemplateScope scope)
    {
        var captured = new StringBuilder();
        Execute(body, scope, captured);
        return captured.ToString();
    }

    private void ExecuteFor(ForStatement loop, TemplateScope scope, StringBuilder output)
    {
        IReadOnlyList<object?> source = TemplateValues.Iterate(Evaluate(loop.Iterable, scope));
        var loopScope = new TemplateScope(scope);
        var items = new List<object?>(source.Count);
        foreach (object? item in source)
        {
            if (loop.Condition is not null)
            {
                Bind(loop.Targets, item, loopScope);
                if (!TemplateValues.IsTruthy(Evaluate(loop.Condition, loopScope)))
                {
                    continue;
                }
            }
            items.Add(item);
        }
        if (items.Count == 0)
        {
            Execute(loop.Else, loopScope, output);
            return;
        }
        for (int i = 0; i < items.Count; i++)
        {
            loopScope.Set("loop", LoopVariable(items, i));
            Bind(loop.Targets, items[i], loopScope);
            try
            {
                Execute(loop.Body, loopScope, output);
            }
            catch (LoopControl control) when (control.Keyword == "continue")
            {
            }
            catch (LoopControl control) when (control.Keyword == "break")
            {
                break;
            }
        }
    }

    private static OrderedDictionary<string, object?> LoopVariable(List<object?> items, int i)
    {
        int n = items.Count;
        return new OrderedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["index"] = (long)(i + 1),
            ["index0"] = (long)i,
            ["revindex"] = (long)(n - i),
            ["revindex0"] = (long)(n - i - 1),
            ["first"] = i == 0,
            ["last"] = i == n - 1,
            ["length"] = (long)n,
            ["depth"] = 1L,
            ["depth0"] = 0L,
            ["previtem"] = i > 0 ? items[i - 1] : new Undefined("'loop.previtem' of the first item"),
            ["nextitem"] = i < n - 1 ? items[i + 1] : new Undefined("'loop.nextitem' of the last item"),
            ["cycle"] = new TemplateFunction("loop.cycle", (args, _) =>
                args.Count == 0 ? throw new RenderProblem("loop.cycle() needs at least one value.") : args[i % args.Count]),
        };
    }

    private static void Bind(IReadOnlyList<string> targets, object? value, TemplateScope scope)
    {
        if (targets.Count == 1)
        {
            scope.Set(targets[0], value);
            return;
        }
        IReadOnlyList<object?> parts = TemplateValues.Iterate(value);
        if (parts.Count != targets.Count)
        {
            throw new RenderProblem($"cannot unpack {parts.Count} value(s) into {targets.Count} names ({string.Join(", ", targets)}).");
        }
        for (int i = 0; i < targets.Count; i++)
        {
            scope.Set(targets[i], parts[i]);
        }
    }

    private void ExecuteSet(SetStatement set, TemplateScope scope)
    {
        object? value = Evaluate(set.Value, scope);
        if (set.Attribute is null)
        {
            Bind(set.Targets, value, scope);
            return;
        }
        if (!scope.TryGet(set.Targets[0], out object? target) || target is not TemplateNamespace ns)
        {
            throw new RenderProblem($"cannot assign attribute '{set.Attribute}' of '{set.Targets[0]}': only a namespace() has assignable attributes.");
        }
        ns.Attributes[set.Attribute] = value;
    }

    private TemplateFunction DefineMacro(string name, IReadOnlyList<(string Name, Expression? Default)> parameters, IReadOnlyList<Statement> body,
        TemplateScope definition, TemplateFunction? caller) =>
        new(name, (positional, named) =>
        {
            var scope = new TemplateScope(definition);
            if (positional.Count > parameters.Count)
            {
                throw new RenderProblem($"macro '{name}' takes {parameters.Count} argument(s), got {positional.Count}.");
            }
            if (named.Keys.FirstOrDefault(k => k != "caller" && !parameters.Any(p => p.Name == k)) is { } unknown)
            {
                throw new RenderProblem($"macro '{name}' has no parameter '{unknown}'.");
            }
            for (int i = 0; i < parameters.Count; i++)
            {
                (string parameter, Expression? fallback) = parameters[i];
                object? value = i < positional.Count ? positional[i]
                    : named.TryGetValue(parameter, out object? given) ? given
                    : fallback is null ? new Undefined($"'{parameter}' (argument of macro '{name}')") : Evaluate(fallback, scope);
                scope.Set(parameter, value);
            }
            if (named.TryGetValue("caller", out object? callerValue))
            {
                scope.Set("caller", callerValue);
            }
            else if (caller is not null)
            {
                scope.Set("caller", caller);
            }
            return RenderBody(body, scope);
        });

    public object? Evaluate(Expression expression, TemplateScope scope)
    {
        try
        {
            return EvaluateCore(expression, scope);
        }
        catch (RaisedProblem raised)
        {
            (int line, int column) = _source.Position(expression.Offset);
            throw new TemplateRaisedException(_source.Name, line, column, raised.Message);
        }
        catch (RenderProblem problem)
        {
            throw _source.Error(expression.Offset, problem.Message);
        }
    }

    private object? EvaluateCore(Expression expression, TemplateScope scope)
    {
        switch (expression)
        {
            case LiteralExpression literal:
                return literal.Value;
            case NameExpression name:
                return scope.TryGet(name.Name, out object? value) ? value : new Undefined($"'{name.Name}'");
            case ListExpression list:
                List<object?> items = list.Items.Select(i => Evaluate(i, scope)).ToList();
                return list.IsTuple ? items.ToArray() : items;
            case DictExpression dict:
                var map = new OrderedDictionary<string, object?>(StringComparer.Ordinal);
                foreach ((Expression key, Expression item) in dict.Entries)
                {
                    map[TemplateValues.ToText(Evaluate(key, scope))] = Evaluate(item, scope);
                }
                return map;
            case AttributeExpression attribute:
                return TemplateMembers.GetAttribute(Evaluate(attribute.Target, scope), attribute.Name);
            case ItemExpression item:
                return TemplateMembers.GetItem(Evaluate(item.Target, scope), Evaluate(item.Index, scope));
            case SliceExpression slice:
                return TemplateMembers.Slice(Evaluate(slice.Target, scope), EvaluateOptional(slice.Start, scope),
                    EvaluateOptional(slice.Stop, scope), EvaluateOptional(slice.Step, scope));
            case CallExpression call:
                return EvaluateCall(call, scope, caller: null);
            case FilterExpression filter:
                return ApplyFilter(filter, Evaluate(filter.Target, scope), scope);
            case TestExpression test:
                (IReadOnlyList<object?> testArgs, _) = EvaluateArguments(test.Arguments, scope);
                bool passed = TemplatePredicates.Apply(test.Name, Evaluate(test.Target, scope), testArgs);
                return test.Negated ? !passed : passed;
            case UnaryExpression unary:
                object? operand = Evaluate(unary.Operand, scope);
                return unary.Operator switch
                {
                    "not" => !TemplateValues.IsTruthy(operand),
                    "-" => operand is long or bool ? (object)(-TemplateValues.ToLong(operand)) : -TemplateValues.ToDouble(operand),
                    _ => TemplateValues.IsNumber(operand) ? operand : throw new RenderProblem($"bad operand for unary +: {TemplateValues.TypeName(operand)}."),
                };
            case BinaryExpression binary:
                return EvaluateBinary(binary, scope);
            case ConditionalExpression conditional:
                return TemplateValues.IsTruthy(Evaluate(conditional.Condition, scope))
                    ? Evaluate(conditional.Then, scope)
                    : conditional.Else is null ? new Undefined("the missing else branch of a conditional expression") : Evaluate(conditional.Else, scope);
            default:
                throw new RenderProblem($"unsupported expression {expression.GetType().Name}.");
        }
    }

    private object? EvaluateOptional(Expression? expression, TemplateScope scope) => expression is null ? null : Evaluate(expression, scope);

    private object? EvaluateBinary(BinaryExpression binary, TemplateScope scope)
    {
        object? left = Evaluate(binary.Left, scope);
        switch (binary.Operator)
        {
            case "and":
                return TemplateValues.IsTruthy(left) ? Evaluate(binary.Right, scope) : left;
            case "or":
                return TemplateValues.IsTruthy(left) ? left : Evaluate(binary.Right, scope);
        }
        object? right = Evaluate(binary.Right, scope);
        return binary.Operator switch
        {
            "==" => TemplateValues.AreEqual(left, right),
            "!=" => !TemplateValues.AreEqual(left, right),
            "<" => TemplateValues.Compare(left, right) < 0,
            ">" => TemplateValues.Compare(left, right) > 0,
            "<=" => TemplateValues.Compare(left, right) <= 0,
            ">=" => TemplateValues.Compare(left, right) >= 0,
            "in" => TemplateArithmetic.Contains(right, left),
            "not in" => !TemplateArithmetic.Contains(right, left),
            "~" => TemplateValues.ToText(left) + TemplateValues.ToText(right),
            _ => TemplateArithmetic.Apply(binary.Operator, left, right),
        };
    }

    private object? EvaluateCall(CallExpression call, TemplateScope scope, TemplateFunction? caller)
    {
        object? callee = Evaluate(call.Callee, scope);
        (IReadOnlyList<object?> positional, Dictionary<string, object?> named) = EvaluateArguments(call.Arguments, scope);
        if (caller is not null)
        {
            named["caller"] = caller;
        }
        return callee switch
        {
            TemplateFunction function => function.Invoke(positional, named),
            Undefined undefined => throw new RenderProblem($"{undefined.Description} is undefined, so it cannot be called."),
            _ => throw new RenderProblem($"{TemplateValues.TypeName(callee)} is not callable."),
        };
    }

    private (IReadOnlyList<object?> Positional, Dictionary<string, object?> Named) EvaluateArguments(Arguments arguments, TemplateScope scope)
    {
        var positional = arguments.Positional.Select(a => Evaluate(a, scope)).ToList();
        var named = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach ((string name, Expression value) in arguments.Named)
        {
            named[name] = Evaluate(value, scope);
        }
        return (positional, named);
    }

    private object? ApplyFilter(FilterExpression filter, object? value, TemplateScope scope)
    {
        (IReadOnlyList<object?> positional, Dictionary<string, object?> named) = EvaluateArguments(filter.Arguments, scope);
        try
        {
            return TemplateFilters.Apply(filter.Name, value, positional, named);
        }
        catch (RenderProblem problem)
        {
            throw _source.Error(filter.Offset, $"filter '{filter.Name}': {problem.Message}");
        }
    }

    /// <summary><c>{% break %}</c> and <c>{% continue %}</c>, unwinding to the innermost loop.</summary>
    private sealed class LoopControl(string keyword, int offset) : Exception(keyword)
    {
        public string Keyword { get; } = keyword;

        public int Offset { get; } = offset;
    }
}
