namespace Trireme.ApiServer.Core;

/// <summary>
/// What the server knows about one REST resource: its group/version/kind, names as discovery
/// reports them, scope, verbs, subresources and where kube-apiserver keeps it in etcd.
/// </summary>
public sealed record ResourceInfo(
    string Group,
    string Version,
    string Kind,
    string Plural,
    string Singular,
    bool Namespaced,
    string StoragePrefix,
    string[] ShortNames,
    string[] Categories,
    string[] Verbs,
    SubresourceInfo[] Subresources)
{
    public string GroupVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    /// <summary>Virtual resources (componentstatuses) are computed, never stored.</summary>
    public bool IsVirtual => StoragePrefix.Length == 0;

    public string ListKind => Kind + "List";

    /// <summary>"deployments.apps", as Status details and error messages name a resource.</summary>
    public string QualifiedPlural => Group.Length == 0 ? Plural : $"{Plural}.{Group}";

    public bool HasSubresource(string name) => Subresources.Any(s => s.Name == name);

    /// <summary>The etcd key: /registry/&lt;prefix&gt;/&lt;namespace&gt;/&lt;name&gt;, or without namespace for cluster-scoped.</summary>
    public string Key(string? ns, string name) => Namespaced ? $"{StoragePrefix}{ns}/{name}" : StoragePrefix + name;

    /// <summary>The prefix a list or watch covers: all namespaces when ns is null.</summary>
    public string ListPrefix(string? ns) => Namespaced && !string.IsNullOrEmpty(ns) ? $"{StoragePrefix}{ns}/" : StoragePrefix;
}

public sealed record SubresourceInfo(string Name, string Group, string Version, string Kind, string[] Verbs);
