using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Trireme.Pki;

/// <summary>
/// A kubeconfig (clientcmd v1) with one cluster, one user and one context, certificates embedded as
/// base64 data so the file stands alone, as kubeadm's admin.conf does.
/// </summary>
public static class Kubeconfig
{
    public static string ForClientCertificate(
        string clusterName, string server, X509Certificate2 ca, string userName, X509Certificate2 client)
    {
        var caData = Base64(Pem.Certificate(ca));
        var certData = Base64(Pem.Certificate(client));
        var keyData = Base64(Pem.PrivateKey(client));
        var context = $"{userName}@{clusterName}";
        var text = new StringBuilder();
        text.Append("apiVersion: v1\nkind: Config\nclusters:\n");
        text.Append($"- cluster:\n    certificate-authority-data: {caData}\n    server: {server}\n  name: {clusterName}\n");
        text.Append($"contexts:\n- context:\n    cluster: {clusterName}\n    user: {userName}\n  name: {context}\n");
        text.Append($"current-context: {context}\npreferences: {{}}\n");
        text.Append($"users:\n- name: {userName}\n  user:\n    client-certificate-data: {certData}\n    client-key-data: {keyData}\n");
        return text.ToString();
    }

    private static string Base64(string pem) => Convert.ToBase64String(Encoding.ASCII.GetBytes(pem));
}
