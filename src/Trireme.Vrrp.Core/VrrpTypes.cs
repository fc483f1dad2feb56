namespace Trireme.Vrrp.Core;

/// <summary>The protocol version on the wire: RFC 3768 (v2) or RFC 5798 (v3).</summary>
public enum VrrpVersion
{
    V2 = 2,
    V3 = 3,
}

/// <summary>RFC 5798 §6.4 states, plus keepalived's FAULT (interface down or a weight-0 check failing).</summary>
public enum VrrpState
{
    Initialize,
    Backup,
    Master,
    Fault,
}

/// <summary>RFC 3768 §5.3.6 authentication types. Only "none" and keepalived's auth_pass (simple text) exist here.</summary>
public enum VrrpAuthType : byte
{
    None = 0,
    SimpleText = 1,
}

/// <summary>Time inside the core. One tick is one millisecond, fine enough that v3 centisecond intervals
/// and Skew_Time are exact to the millisecond.</summary>
public static class VrrpTicks
{
    public const int PerSecond = 1000;
    public const int PerCentisecond = 10;
}
