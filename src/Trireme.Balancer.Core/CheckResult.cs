namespace Trireme.Balancer.Core;

/// <summary>What one probe found: success or not, how long it took (measured by the host for the stats
/// page, never used for a decision), and a short reason in HAProxy's words (e.g. "L4OK",
/// "L4CON connection refused", "L7STS 503").</summary>
public readonly record struct CheckResult(bool Succeeded, long DurationMicroseconds, string Detail);
