using System.Globalization;
using System.Net;
using YamlDotNet.RepresentationModel;

namespace Trireme.Balancer.Config;

/// <summary>
/// Typed reads from one YAML mapping that know their own path and line, so that every refusal names
/// the field and where it is. Unknown keys are refused too: a misspelt <c>fal: 3</c> silently ignored
/// is a server that never goes DOWN.
/// </summary>
internal sealed class YamlFields
{
    private readonly YamlMappingNode _node;

    private YamlFields(YamlMappingNode node, string path)
    {
        _node = node;
        Path = path;
    }

    public string Path { get; }

    public long Line => _node.Start.Line;

    public static YamlFields Of(YamlNode node, string path, params string[] allowed)
    {
        if (node is not YamlMappingNode mapping)
        {
            throw new ConfigException(path.Length == 0 ? "(document)" : path, node.Start.Line, "must be a mapping of fields");
        }

        var fields = new YamlFields(mapping, path);
        foreach (var key in mapping.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value ?? "?";
            if (!allowed.Contains(name, StringComparer.Ordinal))
            {
                throw new ConfigException(fields.Child(name), key.Start.Line,
                    $"unknown field (known: {string.Join(", ", allowed)})");
            }
        }

        return fields;
    }

    public string Child(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    public ConfigException Error(string key, string reason) =>
        new(Child(key), Find(key)?.Start.Line ?? Line, reason);

    public YamlNode? Find(string key) =>
        _node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public string? String(string key, bool required = false)
    {
        var node = Find(key);
        if (node is null)
        {
            return required ? throw new ConfigException(Child(key), Line, "is required") : null;
        }

        if (node is not YamlScalarNode scalar || string.IsNullOrEmpty(scalar.Value))
        {
            throw Error(key, "must be a non-empty text value");
        }

        return scalar.Value;
    }

    public string RequiredString(string key) => String(key, required: true)!;

    public int Int(string key, int fallback, int min, int max)
    {
        var text = String(key);
        if (text is null)
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            throw Error(key, $"'{text}' is not a whole number");
        }

        return value < min || value > max ? throw Error(key, $"{value} is outside {min}..{max}") : value;
    }

    public bool Bool(string key, bool fallback)
    {
        var text = String(key);
        return text switch
        {
            null => fallback,
            "true" => true,
            "false" => false,
            _ => throw Error(key, $"'{text}' is not true or false"),
        };
    }

    /// <summary>HAProxy's time format: a number with a unit us/ms/s/m/h/d, or a bare number of
    /// milliseconds.</summary>
    public TimeSpan Duration(string key, TimeSpan fallback, TimeSpan min, TimeSpan max)
    {
        var text = String(key);
        if (text is null)
        {
            return fallback;
        }

        if (!TryParseDuration(text, out var value))
        {
            throw Error(key, $"'{text}' is not a duration (use e.g. 100ms, 2s, 30m, 1h)");
        }

        return value < min || value > max ? throw Error(key, $"{text} is outside {Show(min)}..{Show(max)}") : value;
    }

    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        var digits = 0;
        while (digits < text.Length && char.IsAsciiDigit(text[digits]))
        {
            digits++;
        }

        if (digits == 0 || digits > 12
            || !long.TryParse(text.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }

        double? ms = text[digits..] switch
        {
            "" or "ms" => n,
            "us" => n / 1000.0,
            "s" => n * 1000.0,
            "m" => n * 60_000.0,
            "h" => n * 3_600_000.0,
            "d" => n * 86_400_000.0,
            _ => null,
        };
        if (ms is null || ms > TimeSpan.MaxValue.TotalMilliseconds / 2)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(ms.Value);
        return true;
    }

    public IPEndPoint EndPoint(string key, bool required = true, bool anyPort = false)
    {
        var text = String(key, required);
        if (text is null)
        {
            return null!;
        }

        // Port 0 is allowed only where we listen (anyPort): the kernel picks a free port, which tests use.
        // "host:port" with an IPv4 address, "[v6]:port", or "localhost:port". Names that need DNS are
        // refused: a balancer that resolves at connect time hides outages behind resolver timeouts.
        if (text.StartsWith("localhost:", StringComparison.Ordinal))
        {
            text = "127.0.0.1" + text["localhost".Length..];
        }

        if (!IPEndPoint.TryParse(text, out var endPoint) || !text.Contains(':', StringComparison.Ordinal)
            || (endPoint.Port == 0 && !anyPort) || (endPoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !text.StartsWith('[')))
        {
            throw Error(key, $"'{text}' is not ADDRESS:PORT with an IP address and a port 1..65535");
        }

        return endPoint;
    }

    public YamlFields? Map(string key, params string[] allowed)
    {
        var node = Find(key);
        return node is null ? null : Of(node, Child(key), allowed);
    }

    public IReadOnlyList<YamlNode> List(string key, bool required)
    {
        var node = Find(key);
        if (node is null)
        {
            return required ? throw new ConfigException(Child(key), Line, "is required") : [];
        }

        return node is YamlSequenceNode sequence
            ? sequence.Children.ToArray()
            : throw Error(key, "must be a list");
    }

    private static string Show(TimeSpan span) =>
        span.TotalMilliseconds < 1000 ? $"{span.TotalMilliseconds}ms" : $"{span.TotalSeconds}s";
}
