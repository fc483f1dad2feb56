namespace Trireme.Client;

/// <summary>
/// The reflector loop client-go runs: LIST to get a snapshot and its resourceVersion, then WATCH from
/// that version, remembering the newest version each event or bookmark carries. A dropped stream
/// resumes from the remembered version; a 410 Gone (the version was compacted) lists again. The
/// caller sees a full snapshot after each list and every event after it, so its view converges on
/// the server's.
/// </summary>
public sealed class ListWatcher<T>
{
    private readonly KubeClient _client;
    private readonly string _collectionPath;
    private readonly string? _query;
    private readonly Func<string?, T, string?> _resourceVersionOf;

    public ListWatcher(KubeClient client, string collectionPath, string? query, Func<string?, T, string?> resourceVersionOf)
    {
        _client = client;
        _collectionPath = collectionPath;
        _query = query;
        _resourceVersionOf = resourceVersionOf;
    }

    /// <summary>Relists so far (the first list counts); tests read it to see a 410 handled.</summary>
    public int Lists { get; private set; }

    /// <summary>Watches started so far, resumed ones included.</summary>
    public int Watches { get; private set; }

    /// <summary>Runs until cancelled. <paramref name="onSnapshot"/> gets every list's items,
    /// <paramref name="onEvent"/> each watch event (type and object). A failure other than 410 waits
    /// <paramref name="retryDelay"/> and resumes from the last version seen.</summary>
    public async Task RunAsync(Action<IReadOnlyList<T>> onSnapshot, Action<string, T> onEvent, TimeSpan retryDelay,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onSnapshot);
        ArgumentNullException.ThrowIfNull(onEvent);
        string? version = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (version is null)
                {
                    Lists++;
                    var list = await _client.ListAsync<T>(_collectionPath, _query, cancellationToken).ConfigureAwait(false);
                    version = list.Metadata.ResourceVersion ?? "0";
                    onSnapshot(list.Items);
                }

                Watches++;
                await foreach (var evt in _client.WatchAsync<T>(_collectionPath, _query, version, cancellationToken)
                    .ConfigureAwait(false))
                {
                    var obj = evt.As(KubeClient.Json);
                    if (obj is null)
                    {
                        continue;
                    }

                    version = _resourceVersionOf(version, obj) ?? version;
                    if (evt.Type != "BOOKMARK")
                    {
                        onEvent(evt.Type, obj);
                    }
                }
            }
            catch (KubeApiException e) when (e.Status == System.Net.HttpStatusCode.Gone)
            {
                version = null;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested
                && e is HttpRequestException or IOException or KubeApiException or System.Text.Json.JsonException)
            {
                await Task.Delay(retryDelay, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}
