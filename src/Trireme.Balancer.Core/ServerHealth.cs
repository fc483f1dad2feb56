namespace Trireme.Balancer.Core;

/// <summary>
/// The health of one server as HAProxy counts it. A server starts UP (so a fresh balancer forwards at
/// once) and goes DOWN after <c>fall</c> failed checks in a row; a DOWN server comes UP after
/// <c>rise</c> successful checks in a row. A result of the opposite kind resets the run.
///
/// Shape: <see cref="Tick"/> advances time and says when a probe is due; the host runs the probe and
/// hands the outcome to <see cref="Step"/>. At most one probe is in flight per server, so a slow probe
/// delays the next one rather than piling up.
/// </summary>
public sealed class ServerHealth
{
    private readonly CheckTimings _timings;
    private long _ticksUntilCheck;
    private bool _probeInFlight;

    public ServerHealth(CheckTimings timings, bool startUp = true)
    {
        timings.Validate();
        _timings = timings;
        IsUp = startUp;
        // The first probe goes out on the first tick so a dead server is found within fall x inter.
        _ticksUntilCheck = 1;
    }

    public bool IsUp { get; private set; }

    /// <summary>Successes in a row while DOWN, or failures in a row while UP.</summary>
    public int RunLength { get; private set; }

    public bool ProbeInFlight => _probeInFlight;

    /// <summary>Ticks between probes in the current state (inter / fastinter / downinter).</summary>
    public int CurrentIntervalTicks =>
        RunLength > 0 ? _timings.FastInterTicks : IsUp ? _timings.InterTicks : _timings.DownInterTicks;

    /// <summary>Advances one tick; returns true when a probe must start now.</summary>
    public bool Tick()
    {
        if (_probeInFlight)
        {
            return false;
        }

        _ticksUntilCheck--;
        if (_ticksUntilCheck > 0)
        {
            return false;
        }

        _probeInFlight = true;
        return true;
    }

    /// <summary>Records a probe's outcome; returns the transition it caused, if any.</summary>
    public HealthTransition Step(bool succeeded)
    {
        _probeInFlight = false;
        var transition = HealthTransition.None;
        if (succeeded == IsUp)
        {
            // A result that confirms the current state ends any run towards the other state.
            RunLength = 0;
        }
        else
        {
            RunLength++;
            var needed = IsUp ? _timings.Fall : _timings.Rise;
            if (RunLength >= needed)
            {
                IsUp = !IsUp;
                RunLength = 0;
                transition = IsUp ? HealthTransition.WentUp : HealthTransition.WentDown;
            }
        }

        _ticksUntilCheck = CurrentIntervalTicks;
        return transition;
    }
}

public enum HealthTransition
{
    None,
    WentUp,
    WentDown,
}
