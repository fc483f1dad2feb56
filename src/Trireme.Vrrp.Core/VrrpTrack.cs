namespace Trireme.Vrrp.Core;

/// <summary>
/// A tracked health check as keepalived's track_script sees it. Weight &gt; 0 adds to the priority while
/// the check is up; weight &lt; 0 subtracts while it is down; weight 0 puts the instance in FAULT while it
/// is down. Fall and rise are how many consecutive results it takes to change state, so one slow
/// answer does not move the VIP.
/// </summary>
public sealed record VrrpTrackOptions(string Name, int Weight, int Fall = 1, int Rise = 1);

/// <summary>The fall/rise counter of one track. Starts up (as keepalived's script does before its first
/// run) so that a node does not start with a lowered priority and needlessly lose a preempt.</summary>
public sealed class VrrpTrackState(VrrpTrackOptions options)
{
    private int _consecutive;

    public VrrpTrackOptions Options { get; } = options;

    public bool IsUp { get; private set; } = true;

    /// <summary>Applies one check result. Returns true when the up/down state changed.</summary>
    public bool Record(bool succeeded)
    {
        if (succeeded == IsUp)
        {
            _consecutive = 0;
            return false;
        }

        _consecutive++;
        var needed = succeeded ? Options.Rise : Options.Fall;
        if (_consecutive < Math.Max(1, needed))
        {
            return false;
        }

        IsUp = succeeded;
        _consecutive = 0;
        return true;
    }

    /// <summary>This track's contribution to the effective priority.</summary>
    public int PriorityDelta => Options.Weight switch
    {
        > 0 when IsUp => Options.Weight,
        < 0 when !IsUp => Options.Weight,
        _ => 0,
    };

    public bool CausesFault => Options.Weight == 0 && !IsUp;
}
