namespace Trireme.Linearizability.Tests;

/// <summary>Terse builders so a hand-written history reads like a timeline.</summary>
internal static class History
{
    public static Operation<KvInput, KvOutput> Put(int client, string key, string value, long call, long ret) =>
        Operation<KvInput, KvOutput>.Completed(client, KvInput.Put(key, value), KvOutput.Done, call, ret);

    public static Operation<KvInput, KvOutput> Get(int client, string key, string? seen, long call, long ret) =>
        Operation<KvInput, KvOutput>.Completed(client, KvInput.Get(key), KvOutput.Read(seen), call, ret);

    public static Operation<KvInput, KvOutput> Delete(int client, string key, long call, long ret) =>
        Operation<KvInput, KvOutput>.Completed(client, KvInput.Delete(key), KvOutput.Done, call, ret);

    public static Operation<KvInput, KvOutput> Cas(
        int client, string key, string? expected, string value, bool swapped, long call, long ret) =>
        Operation<KvInput, KvOutput>.Completed(client, KvInput.Cas(key, expected, value), KvOutput.Swapped(swapped), call, ret);

    public static Operation<KvInput, KvOutput> PendingPut(int client, string key, string value, long call) =>
        Operation<KvInput, KvOutput>.Pending(client, KvInput.Put(key, value), call);

    public static Operation<KvInput, KvOutput> PendingCas(int client, string key, string? expected, string value, long call) =>
        Operation<KvInput, KvOutput>.Pending(client, KvInput.Cas(key, expected, value), call);

    public static Verdict Check(params Operation<KvInput, KvOutput>[] history) =>
        LinearizabilityChecker.Check(KvModel.Instance, history).Verdict;
}
