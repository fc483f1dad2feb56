using System.Text.Json.Nodes;

namespace Trireme.ApiServer.Core;

public sealed record FieldRequirement(string Field, bool Negated, string Value);

/// <summary>
/// A field selector (<c>f=v, f==v, f!=v</c>, AND-ed). Empty values are legal and meaningful:
/// kubectl describe node asks for <c>involvedObject.namespace=</c>. Each resource supports a fixed
/// set of fields, as kube-apiserver's field label conversion functions do; others are a 400.
/// </summary>
public sealed class FieldSelector
{
    public IReadOnlyList<FieldRequirement> Requirements { get; }

    private FieldSelector(IReadOnlyList<FieldRequirement> requirements) => Requirements = requirements;

    public static readonly FieldSelector Everything = new([]);

    public bool IsEmpty => Requirements.Count == 0;

    public static FieldSelector Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return Everything;
        }

        if (text.Length > LabelSelector.MaxSelectorLength)
        {
            throw new SelectorParseException($"field selector longer than {LabelSelector.MaxSelectorLength} characters");
        }

        var requirements = new List<FieldRequirement>();
        foreach (var raw in text.Split(','))
        {
            var part = raw.Trim();
            var ne = part.IndexOf("!=", StringComparison.Ordinal);
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (ne > 0)
            {
                requirements.Add(new FieldRequirement(part[..ne].Trim(), true, part[(ne + 2)..].Trim()));
            }
            else if (eq > 0)
            {
                var valueStart = eq + 1 < part.Length && part[eq + 1] == '=' ? eq + 2 : eq + 1;
                requirements.Add(new FieldRequirement(part[..eq].Trim(), false, part[valueStart..].Trim()));
            }
            else
            {
                throw new SelectorParseException($"invalid selector: '{text}'; can't understand '{part}'");
            }
        }

        return new FieldSelector(requirements);
    }

    /// <summary>Checks every field is one the resource supports; returns the first that is not.</summary>
    public string? FirstUnsupported(ResourceInfo resource) =>
        Requirements.Select(r => r.Field).FirstOrDefault(f => !ObjectFields.Supports(resource, f));

    public bool Matches(ResourceInfo resource, JsonObject obj)
    {
        foreach (var r in Requirements)
        {
            var actual = ObjectFields.Field(resource, obj, r.Field) ?? "";
            if ((actual == r.Value) == r.Negated)
            {
                return false;
            }
        }

        return true;
    }
}
