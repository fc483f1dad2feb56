namespace Trireme.Vrrp.Core;

/// <summary>
/// One virtual router: the RFC 5798 §6.4 state machine (which RFC 3768 shares), with keepalived's
/// additions — FAULT, tracked checks that move the priority, preempt_delay, GARP repeats.
///
/// Pure: time is a tick count the host passes in (1 ms per tick), and output accumulates until the host
/// calls <see cref="TakeReady"/> and performs it. The host must call <see cref="Tick"/> no later than
/// <see cref="NextDeadlineTick"/>, and pass every accepted advert to <see cref="Step"/>.
/// </summary>
public sealed class VrrpRouter
{
    private const long Never = long.MaxValue;

    private readonly VrrpRouterOptions _options;
    private readonly VrrpTrackState[] _tracks;
    private VrrpReady _ready = new();
    private long _now;
    private bool _interfaceUp = true;
    private bool _started;

    // RFC 5798 §6.1 state variables, in ticks.
    private int _masterAdverIntervalTicks;
    private long _masterDownDeadline = Never;
    private long _adverDeadline = Never;
    private long _garpDeadline = Never;
    private long _reannounceDeadline = Never;
    private long _lastReannounceTick = long.MinValue;
    private long _lowerMasterFirstSeenTick = Never;

    public VrrpRouter(VrrpRouterOptions options)
    {
        options.Validate();
        _options = options;
        _tracks = options.Tracks.Select(t => new VrrpTrackState(t)).ToArray();
        _masterAdverIntervalTicks = options.AdvertIntervalTicks;
    }

    public VrrpRouterOptions Options => _options;

    public VrrpState State { get; private set; } = VrrpState.Initialize;

    public IReadOnlyList<VrrpTrackState> Tracks => _tracks;

    /// <summary>The priority adverts carry: the configured one moved by tracks, kept in 1–254; an address
    /// owner (255) is never moved (keepalived does the same).</summary>
    public byte EffectivePriority => _options.Priority == 255
        ? (byte)255
        : (byte)Math.Clamp(_options.Priority + _tracks.Sum(t => t.PriorityDelta), 1, 254);

    public int MasterAdverIntervalTicks => _masterAdverIntervalTicks;

    /// <summary>RFC 5798 §6.1: ((256 - Priority) * Master_Adver_Interval) / 256. RFC 3768's
    /// (256 - Priority) / 256 seconds is the same formula with a 1 s interval.</summary>
    public int SkewTimeTicks => (256 - EffectivePriority) * _masterAdverIntervalTicks / 256;

    /// <summary>RFC 5798 §6.1: 3 * Master_Adver_Interval + Skew_Time.</summary>
    public int MasterDownIntervalTicks => (3 * _masterAdverIntervalTicks) + SkewTimeTicks;

    public long NextDeadlineTick => Math.Min(
        Math.Min(_masterDownDeadline, _adverDeadline), Math.Min(_garpDeadline, _reannounceDeadline));

    private bool InFaultCondition => !_interfaceUp || _tracks.Any(t => t.CausesFault);

    public VrrpReady TakeReady()
    {
        var ready = _ready;
        _ready = new VrrpReady();
        return ready;
    }

    /// <summary>RFC 5798 §6.4.1: the Startup event.</summary>
    public void Start(long nowTick)
    {
        Advance(nowTick);
        if (_started)
        {
            return;
        }

        _started = true;
        if (InFaultCondition)
        {
            EnterFault();
        }
        else if (EffectivePriority == 255)
        {
            BecomeMaster(VrrpTransitionReason.Startup);
        }
        else
        {
            BecomeBackup(_options.AdvertIntervalTicks, VrrpTransitionReason.Startup);
        }
    }

    /// <summary>RFC 5798 §6.4.2/§6.4.3: the Shutdown event. A master sends priority 0 so that a backup
    /// takes over after Skew_Time rather than Master_Down_Interval.</summary>
    public void Shutdown(long nowTick)
    {
        Advance(nowTick);
        if (State == VrrpState.Master)
        {
            _ready.Adverts.Add(new VrrpOutgoingAdvert(0));
            QueueRemoveAddresses();
        }

        MoveTo(VrrpState.Initialize, VrrpTransitionReason.Shutdown);
        CancelTimers();
        _started = false;
    }

    /// <summary>Fires every timer due at or before <paramref name="nowTick"/>.</summary>
    public void Tick(long nowTick)
    {
        Advance(nowTick);
        if (State == VrrpState.Backup && _masterDownDeadline <= _now)
        {
            BecomeMaster(VrrpTransitionReason.MasterDown); // §6.4.2: Master_Down_Timer fires
        }

        if (State != VrrpState.Master)
        {
            return;
        }

        if (_adverDeadline <= _now)
        {
            SendAdvert(); // §6.4.3: Adver_Timer fires
        }

        if (_garpDeadline <= _now)
        {
            _garpDeadline = Never;
            _ready.GarpRounds += _options.GarpMasterRepeat;
        }

        if (_reannounceDeadline <= _now)
        {
            _reannounceDeadline = Never;
            _ready.GarpRounds += _options.GarpMasterRepeat;
        }
    }

    /// <summary>An advertisement that passed the codec's checks (same version and VRID, authentic).</summary>
    public void Step(long nowTick, in VrrpAdvertisement advert)
    {
        Tick(nowTick);
        if (advert.Source == _options.PrimaryAddress)
        {
            return; // our own multicast looped back
        }

        switch (State)
        {
            case VrrpState.Backup:
                StepBackup(advert);
                break;
            case VrrpState.Master:
                StepMaster(advert);
                break;
            default:
                break; // Initialize and Fault ignore adverts
        }
    }

    public void SetInterfaceUp(long nowTick, bool up)
    {
        Tick(nowTick);
        _interfaceUp = up;
        ReevaluateFault();
    }

    /// <summary>One result of tracked check <paramref name="index"/>; fall/rise decide whether it counts.</summary>
    public void RecordCheck(long nowTick, int index, bool succeeded)
    {
        Tick(nowTick);
        var before = EffectivePriority;
        if (!_tracks[index].Record(succeeded))
        {
            return;
        }

        ReevaluateFault();
        if (State == VrrpState.Master && EffectivePriority != before)
        {
            SendAdvert(); // tell backups now rather than at the next interval
        }
    }

    private void StepBackup(in VrrpAdvertisement advert)
    {
        if (advert.Priority == 0)
        {
            _masterDownDeadline = _now + SkewTimeTicks + _options.TieBreakDelayTicks; // §6.4.2: the master is leaving
            return;
        }

        var local = EffectivePriority;
        if (!_options.Preempt || advert.Priority >= local || PreemptDelayHolds())
        {
            if (advert.Priority >= local)
            {
                _lowerMasterFirstSeenTick = Never;
            }

            LearnInterval(advert);
            _masterDownDeadline = _now + MasterDownIntervalTicks + _options.TieBreakDelayTicks;
        }

        // else: §6.4.2 discard, so Master_Down_Timer runs out and this router preempts.
    }

    private bool PreemptDelayHolds()
    {
        if (_options.PreemptDelayTicks <= 0)
        {
            return false;
        }

        if (_lowerMasterFirstSeenTick == Never)
        {
            _lowerMasterFirstSeenTick = _now;
        }

        return _now - _lowerMasterFirstSeenTick < _options.PreemptDelayTicks;
    }

    private void StepMaster(in VrrpAdvertisement advert)
    {
        if (advert.Priority == 0)
        {
            SendAdvert(); // §6.4.3: answer a leaving master at once so backups do not time out
            return;
        }

        var local = EffectivePriority;
        if (advert.Priority > local)
        {
            YieldTo(advert, VrrpTransitionReason.HigherPriorityMaster);
        }
        else if (advert.Priority == local && advert.Source > _options.PrimaryAddress)
        {
            YieldTo(advert, VrrpTransitionReason.EqualPriorityHigherAddress);
        }
        else
        {
            Reannounce(advert.Source); // §6.4.3 discards it; we also make sure the client ends on our MAC
        }
    }

    /// <summary>
    /// Another router believes it is master but loses to us. It will yield as soon as it hears our advert,
    /// but it may already have sent GARPs that point the client at itself. Answer with an advert now and
    /// GARPs now and again shortly after, rate-limited to once per interval so a peer that never yields
    /// (misconfigured) cannot make us flood.
    /// </summary>
    private void Reannounce(Ipv4 lowerMaster)
    {
        if (_lastReannounceTick != long.MinValue && _now - _lastReannounceTick < _options.AdvertIntervalTicks)
        {
            return;
        }

        _lastReannounceTick = _now;
        _ready.Reannounced.Add(lowerMaster);
        SendAdvert();
        _ready.GarpRounds += _options.GarpMasterRepeat;
        _reannounceDeadline = _now + _options.ReannounceDelayTicks;
    }

    private void YieldTo(in VrrpAdvertisement advert, VrrpTransitionReason reason)
    {
        LearnInterval(advert);
        BecomeBackup(_masterAdverIntervalTicks, reason);
    }

    private void LearnInterval(in VrrpAdvertisement advert)
    {
        // v3 backups follow the master's interval (RFC 5798 §6.4.2); v2 intervals must match (checked
        // by the codec), so this is a no-op there.
        _masterAdverIntervalTicks = advert.AdvertIntervalTicks;
    }

    private void BecomeMaster(VrrpTransitionReason reason)
    {
        var wasMaster = State == VrrpState.Master;
        CancelTimers();
        MoveTo(VrrpState.Master, reason);
        if (!wasMaster)
        {
            QueueAddAddresses();
        }

        _ready.GarpRounds += _options.GarpMasterRepeat;
        _garpDeadline = _options.GarpMasterDelayTicks > 0 ? _now + _options.GarpMasterDelayTicks : Never;
        _masterAdverIntervalTicks = _options.AdvertIntervalTicks;
        SendAdvert();
    }

    private void BecomeBackup(int masterAdverIntervalTicks, VrrpTransitionReason reason)
    {
        if (State == VrrpState.Master)
        {
            QueueRemoveAddresses();
        }

        CancelTimers();
        _masterAdverIntervalTicks = masterAdverIntervalTicks;
        _masterDownDeadline = _now + MasterDownIntervalTicks + _options.TieBreakDelayTicks;
        _lowerMasterFirstSeenTick = Never;
        MoveTo(VrrpState.Backup, reason);
    }

    private void ReevaluateFault()
    {
        if (!_started)
        {
            return;
        }

        if (InFaultCondition && State != VrrpState.Fault)
        {
            EnterFault();
        }
        else if (!InFaultCondition && State == VrrpState.Fault)
        {
            // Leaving FAULT is a fresh start: listen first, as at startup, unless we own the address.
            if (EffectivePriority == 255)
            {
                BecomeMaster(VrrpTransitionReason.FaultCleared);
            }
            else
            {
                BecomeBackup(_options.AdvertIntervalTicks, VrrpTransitionReason.FaultCleared);
            }
        }
    }

    private void EnterFault()
    {
        if (State == VrrpState.Master)
        {
            // Best effort: if the link still carries packets, backups take over after Skew_Time.
            _ready.Adverts.Add(new VrrpOutgoingAdvert(0));
            QueueRemoveAddresses();
        }

        CancelTimers();
        MoveTo(VrrpState.Fault, VrrpTransitionReason.FaultEntered);
    }

    private void SendAdvert()
    {
        _ready.Adverts.Add(new VrrpOutgoingAdvert(EffectivePriority));
        _adverDeadline = _now + _options.AdvertIntervalTicks;
    }

    /// <summary>
    /// The Ready lists are net effects for the host: a router that becomes master and yields within one
    /// batch (its Master_Down_Timer fired and the winner's advert was already queued) must leave the VIP
    /// untouched, not have the host remove then add it. So a queued add cancels a queued remove and vice
    /// versa, and GARPs for an add that was cancelled are dropped with it.
    /// </summary>
    private void QueueAddAddresses()
    {
        foreach (var address in _options.VirtualAddresses)
        {
            if (!_ready.RemoveAddresses.Remove(address))
            {
                _ready.AddAddresses.Add(address);
            }
        }
    }

    private void QueueRemoveAddresses()
    {
        var cancelled = false;
        foreach (var address in _options.VirtualAddresses)
        {
            if (_ready.AddAddresses.Remove(address))
            {
                cancelled = true;
            }
            else
            {
                _ready.RemoveAddresses.Add(address);
            }
        }

        if (cancelled)
        {
            _ready.GarpRounds = 0;
        }
    }

    private void MoveTo(VrrpState next, VrrpTransitionReason reason)
    {
        if (State != next)
        {
            _ready.Transitions.Add(new VrrpTransition(_now, State, next, reason, EffectivePriority));
            State = next;
        }
    }

    private void CancelTimers()
    {
        _masterDownDeadline = Never;
        _adverDeadline = Never;
        _garpDeadline = Never;
        _reannounceDeadline = Never;
    }

    private void Advance(long nowTick)
    {
        if (nowTick < _now)
        {
            throw new InvalidOperationException($"time went backwards: {nowTick} < {_now}");
        }

        _now = nowTick;
    }
}
