using System.Security.Cryptography.X509Certificates;
using YamlDotNet.RepresentationModel;

namespace Trireme.Client;

/// <summary>
/// The parts of a kubeconfig a client needs to reach one cluster: the server URL, the CA to trust,
/// and the client's credentials (certificate and key, or a bearer token). Read from the context
/// named by <c>current-context</c> (or the one asked for). File paths inside the kubeconfig resolve
/// against its directory, as kubectl does.
/// </summary>
public sealed record Kubeconfig(
    Uri Server,
    X509Certificate2Collection? CertificateAuthority,
    bool InsecureSkipTlsVerify,
    X509Certificate2? ClientCertificate,
    string? BearerToken)
{
    public static Kubeconfig Load(string path, string? context = null)
    {
        var full = Path.GetFullPath(path);
        return Parse(File.ReadAllText(full), Path.GetDirectoryName(full)!, context);
    }

    public static Kubeconfig Parse(string yaml, string baseDirectory, string? context = null)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var root = stream.Documents.Count == 1 && stream.Documents[0].RootNode is YamlMappingNode m
            ? m : throw new KubeconfigException("a kubeconfig is one YAML mapping");
        var contextName = context ?? Scalar(root, "current-context")
            ?? throw new KubeconfigException("no context given and no current-context set");
        var ctx = Named(root, "contexts", contextName, "context");
        var cluster = Named(root, "clusters", Scalar(ctx, "cluster") ?? throw new KubeconfigException($"context {contextName} names no cluster"), "cluster");
        var userName = Scalar(ctx, "user");
        var user = userName is null ? null : Named(root, "users", userName, "user");

        var server = Scalar(cluster, "server") ?? throw new KubeconfigException("the cluster has no server");
        var ca = Bytes(cluster, "certificate-authority-data", "certificate-authority", baseDirectory);
        X509Certificate2Collection? caCollection = null;
        if (ca is not null)
        {
            caCollection = [];
            caCollection.ImportFromPem(System.Text.Encoding.ASCII.GetString(ca));
        }

        X509Certificate2? clientCert = null;
        string? token = null;
        if (user is not null)
        {
            var cert = Bytes(user, "client-certificate-data", "client-certificate", baseDirectory);
            var key = Bytes(user, "client-key-data", "client-key", baseDirectory);
            if (cert is not null && key is not null)
            {
                using var pem = X509Certificate2.CreateFromPem(
                    System.Text.Encoding.ASCII.GetString(cert), System.Text.Encoding.ASCII.GetString(key));
                // SslStream on Linux needs the key in an exportable, non-ephemeral form.
                clientCert = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            }

            token = Scalar(user, "token");
            var tokenFile = Scalar(user, "tokenFile");
            if (token is null && tokenFile is not null)
            {
                token = File.ReadAllText(Path.GetFullPath(tokenFile, baseDirectory)).Trim();
            }
        }

        return new Kubeconfig(new Uri(server), caCollection, Scalar(cluster, "insecure-skip-tls-verify") == "true",
            clientCert, token);
    }

    private static YamlMappingNode Named(YamlMappingNode root, string list, string name, string inner)
    {
        if (root.Children.TryGetValue(new YamlScalarNode(list), out var node) && node is YamlSequenceNode seq)
        {
            foreach (var item in seq.Children.OfType<YamlMappingNode>())
            {
                if (Scalar(item, "name") == name && item.Children.TryGetValue(new YamlScalarNode(inner), out var body)
                    && body is YamlMappingNode mapping)
                {
                    return mapping;
                }
            }
        }

        throw new KubeconfigException($"{list} has no entry named '{name}'");
    }

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode s ? s.Value : null;

    private static byte[]? Bytes(YamlMappingNode node, string dataKey, string fileKey, string baseDirectory)
    {
        if (Scalar(node, dataKey) is { } data)
        {
            return Convert.FromBase64String(data);
        }

        return Scalar(node, fileKey) is { } file ? File.ReadAllBytes(Path.GetFullPath(file, baseDirectory)) : null;
    }
}

public sealed class KubeconfigException : Exception
{
    public KubeconfigException()
    {
    }

    public KubeconfigException(string message)
        : base(message)
    {
    }

    public KubeconfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
