using System.Runtime.InteropServices;

namespace Trireme.Cli;

/// <summary>
/// SIGTERM and SIGINT as a cancellation token. A role that hosts Kestrel through WebApplication must
/// not rely on System.CommandLine's token alone: the ASP.NET host's console lifetime handles SIGTERM
/// itself and cancels the runtime's default termination, so ProcessExit never fires and the command's
/// token never cancels — the process then ignored SIGTERM until `trireme up` killed it 10 s later.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly PosixSignalRegistration _term;
    private readonly PosixSignalRegistration _interrupt;

    public StopSignals(CancellationToken commandToken)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(commandToken);
        _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
    }

    /// <summary>Cancelled by the first SIGTERM or SIGINT, or by the command's own token.</summary>
    public CancellationToken Token => _stop.Token;

    public void Dispose()
    {
        _term.Dispose();
        _interrupt.Dispose();
        _stop.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true; // the role stops itself, gracefully, and then exits
        _stop.Cancel();
    }
}
