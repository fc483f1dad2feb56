using System.Text.Json.Nodes;

namespace Trireme.ApiServer.Core;

/// <summary>Why a selector string was refused; the handler turns it into a 400 BadRequest Status.</summary>
public sealed class SelectorParseException(string message) : Exception(message);

public enum LabelOperator { Equals, NotEquals, In, NotIn, Exists, DoesNotExist }

public sealed record LabelRequirement(string Key, LabelOperator Operator, string[] Values)
{
    public bool Matches(IReadOnlyDictionary<string, string> labels)
    {
        var has = labels.TryGetValue(Key, out var value);
        return Operator switch
        {
            LabelOperator.Exists => has,
            LabelOperator.DoesNotExist => !has,
            LabelOperator.Equals or LabelOperator.In => has && Values.Contains(value),
            // As in apimachinery: "!=" and "notin" also match objects without the key.
            LabelOperator.NotEquals or LabelOperator.NotIn => !has || !Values.Contains(value),
            _ => false,
        };
    }
}

/// <summary>
/// A parsed label selector in the grammar of apimachinery's labels.Parse:
/// <c>k=v, k==v, k!=v, k in (a,b), k notin (a), k, !k</c>, requirements joined by commas (AND).
/// </summary>
public sealed class LabelSelector
{
    /// <summary>Selectors arrive in URLs; a bound keeps parsing cost proportional to what is sane.</summary>
    public const int MaxSelectorLength = 8192;

    public IReadOnlyList<LabelRequirement> Requirements { get; }

    private LabelSelector(IReadOnlyList<LabelRequirement> requirements) => Requirements = requirements;

    public static readonly LabelSelector Everything = new([]);

    public bool IsEmpty => Requirements.Count == 0;

    public bool Matches(IReadOnlyDictionary<string, string> labels) => Requirements.All(r => r.Matches(labels));

    public bool Matches(JsonObject obj) => IsEmpty || Matches(ObjectFields.Labels(obj));

    public static LabelSelector Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Everything;
        }

        if (text.Length > MaxSelectorLength)
        {
            throw new SelectorParseException($"label selector longer than {MaxSelectorLength} characters");
        }

        var requirements = new List<LabelRequirement>();
        foreach (var part in SplitTopLevel(text))
        {
            requirements.Add(ParseRequirement(part.Trim()));
        }

        return new LabelSelector(requirements);
    }

    /// <summary>Splits on commas that are not inside a parenthesised value set.</summary>
    private static List<string> SplitTopLevel(string text)
    {
        var parts = new List<string>();
        var depth = 0;
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '(':
                    depth++;
                    if (depth > 1)
                    {
                        throw new SelectorParseException("nested parentheses in label selector");
                    }

                    break;
                case ')':
                    depth--;
                    if (depth < 0)
                    {
                        throw new SelectorParseException("unbalanced ')' in label selector");
                    }

                    break;
                case ',' when depth == 0:
                    parts.Add(text[start..i]);
                    start = i + 1;
                    break;
            }
        }

        if (depth != 0)
        {
            throw new SelectorParseException("unbalanced '(' in label selector");
        }

        parts.Add(text[start..]);
        return parts;
    }

    private static LabelRequirement ParseRequirement(string part)
    {
        if (part.Length == 0)
        {
            throw new SelectorParseException("empty requirement in label selector");
        }

        if (part[0] == '!')
        {
            return new LabelRequirement(CheckKey(part[1..].Trim()), LabelOperator.DoesNotExist, []);
        }

        var ne = part.IndexOf("!=", StringComparison.Ordinal);
        if (ne > 0)
        {
            return new LabelRequirement(CheckKey(part[..ne].Trim()), LabelOperator.NotEquals, [CheckValue(part[(ne + 2)..].Trim())]);
        }

        var eq = part.IndexOf('=', StringComparison.Ordinal);
        if (eq >= 0)
        {
            var valueStart = eq + 1 < part.Length && part[eq + 1] == '=' ? eq + 2 : eq + 1;
            return new LabelRequirement(CheckKey(part[..eq].Trim()), LabelOperator.Equals, [CheckValue(part[valueStart..].Trim())]);
        }

        var words = part.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (words.Length == 1)
        {
            return new LabelRequirement(CheckKey(words[0]), LabelOperator.Exists, []);
        }

        var rest = words[1];
        var op = rest.StartsWith("notin", StringComparison.Ordinal) ? LabelOperator.NotIn
            : rest.StartsWith("in", StringComparison.Ordinal) ? LabelOperator.In
            : throw new SelectorParseException($"unknown operator in label selector requirement '{part}'");
        var set = rest[(op == LabelOperator.NotIn ? 5 : 2)..].Trim();
        if (set.Length < 2 || set[0] != '(' || set[^1] != ')')
        {
            throw new SelectorParseException($"expected a parenthesised value set in '{part}'");
        }

        var values = set[1..^1].Split(',', StringSplitOptions.TrimEntries).Select(CheckValue).ToArray();
        return new LabelRequirement(CheckKey(words[0]), op, values);
    }

    private static string CheckKey(string key)
    {
        if (!Validation.IsQualifiedName(key))
        {
            throw new SelectorParseException($"invalid label key \"{key}\": must be a qualified name");
        }

        return key;
    }

    private static string CheckValue(string value)
    {
        if (!Validation.IsLabelValue(value))
        {
            throw new SelectorParseException($"invalid label value: \"{value}\": must be 63 characters or less and match a label value pattern");
        }

        return value;
    }
}
