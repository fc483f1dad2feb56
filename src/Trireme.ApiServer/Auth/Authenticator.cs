using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using Trireme.ApiServer.Core;

namespace Trireme.ApiServer.Auth;

/// <summary>
/// Authenticates a request as kube-apiserver's union authenticator does, in order: a client
/// certificate chaining to --client-ca-file (CN = user, O = groups); a bearer token from
/// --token-auth-file; a bootstrap token (&lt;id&gt;.&lt;secret&gt;) checked against the Secret
/// kube-system/bootstrap-token-&lt;id&gt; with its expiration. Every authenticated user is also in
/// system:authenticated. No credentials: null (the caller answers 401).
/// </summary>
public sealed partial class Authenticator
{
    private readonly X509Certificate2Collection _clientCas;
    private readonly Dictionary<string, UserInfo> _staticTokens;
    private readonly Func<string, System.Text.Json.Nodes.JsonObject?> _bootstrapSecret;
    private readonly TimeProvider _clock;
    private readonly ConcurrentDictionary<string, UserInfo?> _certificateCache = new(StringComparer.Ordinal);

    /// <summary>Verified certificates remembered by thumbprint; bounded so a stream of fresh certificates cannot grow memory.</summary>
    private const int CertificateCacheLimit = 10_000;

    [GeneratedRegex("^([a-z0-9]{6})\\.([a-z0-9]{16})$")]
    private static partial Regex BootstrapTokenPattern();

    public Authenticator(X509Certificate2Collection clientCas, Dictionary<string, UserInfo> staticTokens,
        Func<string, System.Text.Json.Nodes.JsonObject?> bootstrapSecret, TimeProvider clock)
    {
        _clientCas = clientCas;
        _staticTokens = staticTokens;
        _bootstrapSecret = bootstrapSecret;
        _clock = clock;
    }

    public UserInfo? Authenticate(X509Certificate2? clientCertificate, string? authorization)
    {
        if (clientCertificate is not null && FromCertificate(clientCertificate) is { } certUser)
        {
            return certUser;
        }

        if (authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var token = authorization["Bearer ".Length..].Trim();
            if (_staticTokens.TryGetValue(token, out var user))
            {
                return WithAuthenticated(user);
            }

            if (FromBootstrapToken(token) is { } bootstrap)
            {
                return bootstrap;
            }
        }

        return null;
    }

    /// <summary>
    /// What one certificate object (a TLS connection's client certificate) authenticated as, with its
    /// expiry: every request on a connection reuses it instead of hashing the certificate for the
    /// thumbprint and decoding NotAfter again. Weak keys: the entry goes with the connection.
    /// </summary>
    private sealed record ConnectionIdentity(UserInfo? User, DateTime NotAfterUtc);

    private readonly ConditionalWeakTable<X509Certificate2, ConnectionIdentity> _perCertificateObject = new();

    private UserInfo? FromCertificate(X509Certificate2 certificate)
    {
        if (!_perCertificateObject.TryGetValue(certificate, out var identity))
        {
            identity = new ConnectionIdentity(FromCertificateUncached(certificate), certificate.NotAfter.ToUniversalTime());
            _perCertificateObject.AddOrUpdate(certificate, identity);
        }

        return identity.User is not null && identity.NotAfterUtc > _clock.GetUtcNow().UtcDateTime ? identity.User : null;
    }

    private UserInfo? FromCertificateUncached(X509Certificate2 certificate)
    {
        if (_certificateCache.TryGetValue(certificate.Thumbprint, out var cached))
        {
            return cached is not null && certificate.NotAfter > _clock.GetUtcNow().UtcDateTime ? cached : null;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_clientCas);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.2"));
        chain.ChainPolicy.VerificationTime = _clock.GetUtcNow().UtcDateTime;
        UserInfo? user = null;
        if (chain.Build(certificate))
        {
            var name = certificate.GetNameInfo(X509NameType.SimpleName, false);
            var groups = new List<string>();
            foreach (var rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
            {
                if (rdn.GetSingleElementType().Value == "2.5.4.10" && rdn.GetSingleElementValue() is { } o)
                {
                    groups.Add(o);
                }
            }

            user = WithAuthenticated(new UserInfo(name, groups));
        }

        if (_certificateCache.Count < CertificateCacheLimit)
        {
            _certificateCache[certificate.Thumbprint] = user;
        }

        return user;
    }

    private UserInfo? FromBootstrapToken(string token)
    {
        var match = BootstrapTokenPattern().Match(token);
        if (!match.Success)
        {
            return null;
        }

        var id = match.Groups[1].Value;
        if (_bootstrapSecret($"bootstrap-token-{id}") is not { } secret || ObjectFields.Str(secret, "type") != "bootstrap.kubernetes.io/token")
        {
            return null;
        }

        string Data(string key) => ObjectFields.Str(secret, "data", key) is { } b64 ? DecodeBase64(b64) : "";
        var expected = Encoding.UTF8.GetBytes(Data("token-secret"));
        if (Data("token-id") != id || !CryptographicOperations.FixedTimeEquals(expected, Encoding.UTF8.GetBytes(match.Groups[2].Value)))
        {
            return null;
        }

        if (Data("usage-bootstrap-authentication") != "true")
        {
            return null;
        }

        var expiration = Data("expiration");
        if (expiration.Length > 0 && (!DateTimeOffset.TryParse(expiration, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expires)
            || expires <= _clock.GetUtcNow()))
        {
            return null;
        }

        var groups = new List<string> { "system:bootstrappers" };
        groups.AddRange(Data("auth-extra-groups").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return WithAuthenticated(new UserInfo($"system:bootstrap:{id}", groups));
    }

    private static string DecodeBase64(string b64)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(b64));
        }
        catch (FormatException)
        {
            return "";
        }
    }

    private static UserInfo WithAuthenticated(UserInfo user) =>
        user.Groups.Contains("system:authenticated") ? user : user with { Groups = [.. user.Groups, "system:authenticated"] };

    /// <summary>
    /// Parses a --token-auth-file: CSV lines token,user,uid[,"group1,group2"], as kube-apiserver reads it.
    /// </summary>
    public static Dictionary<string, UserInfo> ParseTokenFile(string text)
    {
        var tokens = new Dictionary<string, UserInfo>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var fields = SplitCsv(line);
            if (fields.Count < 3)
            {
                throw new FormatException($"token file line needs at least token,user,uid: '{line}'");
            }

            var groups = fields.Count > 3 ? fields[3].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : [];
            tokens[fields[0]] = new UserInfo(fields[1], groups, fields[2]);
        }

        return tokens;
    }

    private static List<string> SplitCsv(string line)
    {
        var fields = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        foreach (var c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (c == ',' && !quoted)
            {
                fields.Add(current.ToString());
                current.Clear();
            }
            else
            {
                current.Append(c);
            }
        }

        fields.Add(current.ToString());
        return fields;
    }
}
