namespace Trireme.Balancer.Core;

/// <summary>
/// HAProxy's health-check timing in core ticks. <c>inter</c> paces checks of a server that is fully UP,
/// <c>fastinter</c> a server in transition (UP with failures, or DOWN with successes), <c>downinter</c> a
/// server fully DOWN. <c>rise</c> successes in a row bring a server UP, <c>fall</c> failures take it DOWN.
/// </summary>
public sealed record CheckTimings(int InterTicks, int FastInterTicks, int DownInterTicks, int Rise, int Fall)
{
    public void Validate()
    {
        // A zero interval would check every tick forever; a zero rise/fall would make every result a
        // transition. Both are configuration bugs the host refuses before it gets here.
        if (InterTicks < 1 || FastInterTicks < 1 || DownInterTicks < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(InterTicks), "check intervals must be at least one tick");
        }

        if (Rise < 1 || Fall < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Rise), "rise and fall must be at least 1");
        }
    }
}
