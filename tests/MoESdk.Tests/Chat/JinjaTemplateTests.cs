using System.Text.Json;
using MoESdk.Chat.Templates;

namespace MoESdk.Tests.Chat;

/// <summary>The template engine on small templates: each construct chat templates use, with Jinja's (Python's) semantics.</summary>
[Trait("Category", "Unit")]
public sealed class JinjaTemplateTests
{
    private static string Render(string template, string variablesJson = "{}")
    {
        using JsonDocument document = JsonDocument.Parse(variablesJson);
        var variables = document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        return JinjaTemplate.Parse(template, "test").Render(variables);
    }

    [Theory]
    // Output, literals, printing as Python's str().
    [InlineData("Hello {{ name }}!", """{"name": "world"}""", "Hello world!")]
    [InlineData("{{ 1 }} {{ 1.5 }} {{ 2.0 }} {{ true }} {{ none }} {{ [1, 'a'] }} {{ {'k': 'v'} }} {{ (1,) }}", "{}", "1 1.5 2.0 True None [1, 'a'] {'k': 'v'} (1,)")]
    [InlineData("{{ 'a\\n\\t\\'b' }}|{{ \"x\\\"y\" }}|{{ 'un\\known' }}|{{ '\\u00e9\\x41' }}", "{}", "a\n\t'b|x\"y|un\\known|éA")]
    [InlineData("{{ missing }}|{{ missing is defined }}|{{ missing is undefined }}", "{}", "|False|True")]
    // Comments and whitespace control; trim_blocks and lstrip_blocks as Hugging Face sets them.
    [InlineData("a {# note #} b", "{}", "a  b")]
    [InlineData("a {#- note -#} b", "{}", "ab")]
    [InlineData("a  {{- 'x' -}}  b", "{}", "axb")]
    [InlineData("  {% if true %}\nyes\n  {% endif %}\nend\n", "{}", "yes\nend")]
    [InlineData("    {{ 'kept indent' }}\n", "{}", "    kept indent")]
    [InlineData("{% if true %}  a  {%- endif %}|", "{}", "  a|")]
    [InlineData("{% raw %}{{ not rendered }}{% endraw %}", "{}", "{{ not rendered }}")]
    // Conditionals and logic.
    [InlineData("{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %}", """{"x": 2}""", "two")]
    [InlineData("{{ 'y' if x else 'n' }}{{ 'y' if not x else 'n' }}{{ x and 'both' }}{{ x or 'other' }}", """{"x": 0}""", "ny0other")]
    [InlineData("{{ 1 in [1, 2] }}{{ 'b' in 'abc' }}{{ 'k' in {'k': 1} }}{{ 3 not in [1] }}", "{}", "TrueTrueTrueTrue")]
    [InlineData("{{ 1 == 1.0 }}{{ 'a' != 'b' }}{{ 2 < 10 }}{{ 'b' > 'a' }}{{ 1 <= 1 }}{{ [1, 2] == [1, 2] }}", "{}", "TrueTrueTrueTrueTrueTrue")]
    // Arithmetic as in Python.
    [InlineData("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 1 + 2 * 3 }} {{ -(2) }}", "{}", "3 -4 1 2 3.5 1024 7 -2")]
    [InlineData("{{ 'a' + 'b' }}{{ 'ab' * 2 }}{{ 1 ~ 'x' ~ none }}{{ [1] + [2] }}", "{}", "ababab1xNone[1, 2]")]
    [InlineData("{{ messages|length - 1 }}", """{"messages": [1, 2, 3]}""", "2")]
    // Access, slicing.
    [InlineData("{{ m.role }} {{ m['content'] }} {{ m.missing is defined }} {{ l[0] }} {{ l[-1] }} {{ l[5] is defined }}",
        """{"m": {"role": "user", "content": "hi"}, "l": [1, 2, 3]}""", "user hi False 1 3 False")]
    [InlineData("{{ l[1:] }} {{ l[:-1] }} {{ l[::-1] }} {{ l[::2] }} {{ s[::-1] }} {{ s[1:3] }} {{ s[0] }}", """{"l": [1, 2, 3], "s": "héllo"}""",
        "[2, 3] [1, 2] [3, 2, 1] [1, 3] olléh él h")]
    // Loops.
    [InlineData("{% for x in l %}{{ loop.index0 }}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }};{% endfor %}", """{"l": ["a", "b"]}""",
        "01TrueFalse22;12FalseTrue21;")]
    [InlineData("{% for x in l if x > 1 %}{{ x }}{{ loop.length }}{% else %}none{% endfor %}|{% for x in [] %}a{% else %}empty{% endfor %}", """{"l": [1, 2, 3]}""", "2232|empty")]
    [InlineData("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{% for k in d %}{{ k }}{% endfor %}", """{"d": {"b": 1, "a": 2}}""", "b=1;a=2;ba")]
    [InlineData("{% for x in [1, 2, 3, 4] %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 4 %}{% break %}{% endif %}{{ x }}{% endfor %}", "{}", "13")]
    [InlineData("{% for x in [1, 2] %}{{ loop.previtem is defined }}{{ loop.nextitem }}{{ loop.cycle('a', 'b') }}{% endfor %}", "{}", "False2aTrueb")]
    // Assignment and scoping: a loop's set stays in the loop; a namespace carries values out.
    [InlineData("{% set x = 1 %}{% for i in [1] %}{% set x = 2 %}{% endfor %}{{ x }}", "{}", "1")]
    [InlineData("{% set ns = namespace(found=false, n=0) %}{% for i in [1, 2] %}{% set ns.found = true %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.found }}{{ ns.n }}", "{}", "True3")]
    [InlineData("{% if true %}{% set x = 'in if' %}{% endif %}{{ x }}", "{}", "in if")]
    [InlineData("{% set a, b = [1, 2] %}{{ b }}{{ a }}", "{}", "21")]
    [InlineData("{% set block %}  text {{ 1 }}{% endset %}[{{ block }}]{% set up | upper %}abc{% endset %}{{ up }}", "{}", "[  text 1]ABC")]
    // Macros and call blocks.
    [InlineData("{% macro greet(name, punct='!') %}Hi {{ name }}{{ punct }}{% endmacro %}{{ greet('Ann') }} {{ greet('Bo', punct='?') }}", "{}", "Hi Ann! Hi Bo?")]
    [InlineData("{% macro wrap() %}<{{ caller() }}>{% endmacro %}{% call wrap() %}inside{% endcall %}", "{}", "<inside>")]
    [InlineData("{% filter upper %}shout{% endfilter %}", "{}", "SHOUT")]
    // Tests.
    [InlineData("{{ x is none }}{{ x is not none }}{{ 's' is string }}{{ 1 is number }}{{ {} is mapping }}{{ [] is iterable }}{{ 's' is iterable }}{{ 3 is odd }}{{ 4 is even }}{{ 9 is divisibleby 3 }}{{ false is false }}{{ true is true }}{{ 1 is integer }}{{ 1.0 is float }}{{ true is boolean }}",
        """{"x": null}""", "TrueFalseTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrueTrue")]
    // Filters.
    [InlineData("[{{ '  a b  ' | trim }}] {{ 'ab' | upper }} {{ 'AB' | lower }} {{ 'hello world-wide' | title }} {{ 'hELLO' | capitalize }} {{ 'aXbX' | replace('X', '-') }}", "{}",
        "[a b] AB ab Hello World-Wide Hello a-b-")]
    [InlineData("{{ [1, 2, 3] | length }} {{ 'héllo' | length }} {{ missing | length }} {{ [3, 1] | first }} {{ [3, 1] | last }} {{ ['a', 'b'] | join(', ') }} {{ [1, 2] | join }}", "{}",
        "3 5 0 3 1 a, b 12")]
    [InlineData("{{ missing | default('d') }} {{ none | default('d') }} {{ '' | default('d', true) }} {{ 'v' | d('d') }}", "{}", "d None d v")]
    [InlineData("{{ l | map(attribute='n') | join(',') }} {{ l | selectattr('ok') | map(attribute='n') | list }} {{ l | rejectattr('ok') | map(attribute='n') | first }} {{ l | selectattr('n', 'equalto', 2) | list | length }}",
        """{"l": [{"n": 1, "ok": true}, {"n": 2, "ok": false}]}""", "1,2 [1] 2 1")]
    [InlineData("{{ ['b', 'a', 'b'] | unique | list }} {{ [3, 1, 2] | sort }} {{ [3, 1, 2] | sort(reverse=true) }} {{ {'b': 1, 'a': 2} | dictsort }} {{ [1, 2] | reverse | list }} {{ {'a': 1} | items | list }}", "{}",
        "['b', 'a'] [1, 2, 3] [3, 2, 1] [('a', 2), ('b', 1)] [2, 1] [('a', 1)]")]
    [InlineData("{{ '42' | int }} {{ 'x' | int }} {{ 3.9 | int }} {{ '1.5' | float }} {{ 5 | string }} {{ -3 | abs }} {{ ['a', 'b'] | map('upper') | join }} {{ [1, 2, 3] | sum }} {{ [4, 2, 8] | max }}", "{}",
        "42 0 3 1.5 5 3 AB 6 8")]
    [InlineData("{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}", "{}", "a\n  b\n\n  c|  a\n  b")]
    // tojson as transformers defines it: no HTML escaping, non-ASCII kept, Python's separators.
    [InlineData("{{ d | tojson }}", """{"d": {"a": [1, 2.5, true, null], "t": "<é\n\"x\">"}}""", "{\"a\": [1, 2.5, true, null], \"t\": \"<é\\n\\\"x\\\">\"}")]
    [InlineData("{{ d | tojson(indent=2) }}", """{"d": {"a": [1, {}], "b": []}}""", "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": []\n}")]
    [InlineData("{{ 'é' | tojson(ensure_ascii=true) }} {{ {'b': 1, 'a': 2} | tojson(sort_keys=true) }}", "{}", "\"\\u00e9\" {\"a\": 2, \"b\": 1}")]
    // String methods, with Python's semantics (strip takes the characters to strip).
    [InlineData("[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ t.strip('\\n') }}][{{ t.lstrip('\\n') }}]", """{"s": " a ", "t": "\n x \n"}""", "[a][a ][ a][ x ][ x \n]")]
    [InlineData("{{ 'a</think>b</think>c'.split('</think>')[-1] }} {{ 'a b  c'.split() }} {{ 'a,b,c'.split(',', 1) }} {{ 'abc'.startswith('ab') }} {{ 'abc'.endswith(('x', 'c')) }}", "{}",
        "c ['a', 'b', 'c'] ['a', 'b,c'] True True")]
    [InlineData("{{ 'Hi'.upper() }}{{ 'Hi'.lower() }}{{ 'hello world'.title() }}{{ 'aaa'.replace('a', 'b', 2) }}{{ 'abcb'.find('b') }}{{ 'abcb'.count('b') }}{{ '-'.join(['x', 'y']) }}", "{}",
        "HIhiHello Worldbba12x-y")]
    [InlineData("{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 0) }} {{ d.keys() | list }} {{ d.values() | list }}", """{"d": {"a": 1}}""", "1 None 0 ['a'] [1]")]
    // Globals.
    [InlineData("{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ dict(a=1) }}", "{}", "[0, 1, 2] [1, 3, 5] {'a': 1}")]
    public void Renders_like_jinja(string template, string variables, string expected) => Assert.Equal(expected, Render(template, variables));

    [Fact]
    public void Strftime_now_prints_todays_date()
    {
        string rendered = Render("{{ strftime_now('%d %b %Y') }}");
        Assert.Equal(DateTime.Now.ToString("dd MMM yyyy", System.Globalization.CultureInfo.InvariantCulture), rendered);
    }

    [Fact]
    public void Raise_exception_stops_with_the_templates_message_and_position()
    {
        var e = Assert.Throws<TemplateRaisedException>(() => Render("ok\n{% if true %}{{ raise_exception('Roles must alternate') }}{% endif %}"));
        Assert.Equal("Roles must alternate", e.Problem);
        Assert.Equal(2, e.Line);
        Assert.Contains("Template 'test', line 2", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{% if x %}never closed", "line 1", "expected '{% endif %}'")]
    [InlineData("{% for x in %}{% endfor %}", "line 1, column 13", "an expression is missing")]
    [InlineData("{% frobnicate %}", "line 1", "unknown statement '{% frobnicate %}'")]
    [InlineData("a\n  {{ x.y.z }}", "line 2, column 7", "'x' is undefined, so it has no attribute 'y'")]
    [InlineData("{{ 'a' + 1 }}", "line 1", "unsupported operand types for +: string and integer")]
    [InlineData("{{ x | nosuchfilter }}", "line 1", "unknown filter 'nosuchfilter'")]
    [InlineData("{{ 'unterminated }}", "line 1", "string literal is never closed")]
    [InlineData("{% endif %}", "line 1", "unexpected '{% endif %}'")]
    [InlineData("{% set x = 1 %}{% set x.y = 2 %}", "line 1", "only a namespace() has assignable attributes")]
    [InlineData("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(b=1) }}", "line 1", "macro 'm' has no parameter 'b'")]
    public void Errors_name_the_template_position_and_construct(string template, string position, string problem)
    {
        var e = Assert.ThrowsAny<TemplateException>(() => Render(template));
        Assert.Contains("Template 'test', " + position, e.Message, StringComparison.Ordinal);
        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }
}
