namespace Trireme.Balancer.Config;

/// <summary>A configuration the balancer refuses, naming the field (a path such as
/// <c>backends[0].check.inter</c>) and the 1-based line it sits on.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string field, long line, string reason)
        : base($"line {line}: {field}: {reason}")
    {
        Field = field;
        Line = line;
        Reason = reason;
    }

    public ConfigException()
    {
        Field = string.Empty;
        Reason = string.Empty;
    }

    public ConfigException(string message)
        : base(message)
    {
        Field = string.Empty;
        Reason = message;
    }

    public ConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
        Field = string.Empty;
        Reason = message;
    }

    public string Field { get; }

    public long Line { get; }

    public string Reason { get; }
}
