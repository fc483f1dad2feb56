namespace Trireme.Testing;

/// <summary>A directory under the system temp dir, deleted on dispose (also when the test failed).</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "trireme-test")
    {
        Path = Directory.CreateTempSubdirectory(prefix + "-").FullName;
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still be closing files; the OS temp cleaner gets the rest.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
