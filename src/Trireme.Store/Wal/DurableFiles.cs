using System.Runtime.InteropServices;

namespace Trireme.Store.Wal;

/// <summary>
/// The few durability primitives .NET does not expose: fsync of a directory (so a created, renamed or
/// deleted file survives power loss) and "fsync failed" handling, which crashes the process: after a
/// failed fsync the kernel may have dropped the dirty pages, so continuing could acknowledge lost writes.
/// </summary>
internal static partial class DurableFiles
{
    private const int ReadOnly = 0;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int Fdatasync(int fd);

    /// <summary>Returns an error number itself (0 on success) rather than setting errno.</summary>
    [LibraryImport("libc", EntryPoint = "posix_fallocate")]
    private static partial int PosixFallocate(int fd, long offset, long length);

    /// <summary>fsync the directory itself; a no-op where directories cannot be opened (not Linux).</summary>
    public static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(directory, ReadOnly);
        if (fd < 0)
        {
            FailFast($"open({directory}) for fsync failed: errno {Marshal.GetLastPInvokeError()}");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                FailFast($"fsync of directory {directory} failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>Flushes <paramref name="file"/> to stable storage or crashes the process.</summary>
    public static void SyncFile(FileStream file)
    {
        try
        {
            file.Flush(flushToDisk: true);
        }
        catch (IOException e)
        {
            FailFast($"fsync of {file.Name} failed: {e.Message}");
        }
    }

    /// <summary>
    /// fdatasync: the file's data and the metadata needed to read it back (its size), not its times.
    /// For a preallocated WAL segment that is the data alone. Crashes the process on failure.
    /// </summary>
    public static void SyncData(FileStream file)
    {
        if (!OperatingSystem.IsLinux())
        {
            SyncFile(file);
            return;
        }

        if (OnDescriptor(file, static fd => Fdatasync(fd)) != 0)
        {
            FailFast($"fdatasync of {file.Name} failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    /// <summary>
    /// Allocates <paramref name="file"/> on disk up to <paramref name="length"/> bytes (reading as zeros
    /// where nothing was written). True if it grew now (its new size still needs an fsync); false if it
    /// was that long already, off Linux, or where the file system cannot (the file then just grows as
    /// written, which is correct, only slower to sync).
    /// </summary>
    public static bool TryAllocate(FileStream file, long length) =>
        OperatingSystem.IsLinux() && file.Length < length &&
        OnDescriptor(file, fd => PosixFallocate(fd, 0, length)) == 0;

    /// <summary>Calls <paramref name="call"/> with the file's descriptor, held open for the call.</summary>
    private static int OnDescriptor(FileStream file, Func<int, int> call)
    {
        var handle = file.SafeFileHandle;
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return call((int)handle.DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    public static void FailFast(string message) =>
        Environment.FailFast($"trireme store: {message}; the process stops rather than risk acknowledging lost writes");

    /// <summary>Writes <paramref name="contents"/> to <paramref name="path"/> atomically and durably:
    /// temp file, fsync, rename over, fsync the directory.</summary>
    public static void WriteAtomically(string path, Action<FileStream> contents)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var temp = path + ".tmp";
        using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16))
        {
            contents(file);
            SyncFile(file);
        }

        File.Move(temp, path, overwrite: true);
        SyncDirectory(directory);
    }
}
