// Proves the authorizer's remembered decisions never outlive the policy they were made under: a user
// denied, then granted by a new RoleBinding, is allowed; once the binding is deleted the same request
// is denied again. Also the memo's key separates users, namespaces and resource names. Method: an
// in-process server; the grant and revocation go through the API like any client's, and each check
// polls (with a deadline) until the watch cache has applied the change.
using System.Net;
using System.Net.Http.Headers;
using Trireme.ApiServer.Auth;
using Trireme.Testing;

namespace Trireme.ApiServer.Tests;

public sealed class RbacDecisionTests
{
    private static StringContent Json(string text) => new(text, new MediaTypeHeaderValue("application/json"));

    [Fact]
    public async Task Grant_and_revocation_take_effect_despite_remembered_decisions()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var server = await InProcessServer.StartAsync();
        const string path = "/api/v1/namespaces/default/configmaps";
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Bob.GetAsync(path, ct)).StatusCode);

        Assert.Equal(HttpStatusCode.Created, (await server.Admin.PostAsync("/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", Json("""
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role","metadata":{"name":"cm-reader"},
             "rules":[{"apiGroups":[""],"resources":["configmaps"],"verbs":["list"]}]}
            """), ct)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await server.Admin.PostAsync("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", Json("""
            {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"bob-reads"},
             "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"cm-reader"},
             "subjects":[{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"bob"}]}
            """), ct)).StatusCode);
        await Poll.UntilAsync(async () => (await server.Bob.GetAsync(path, ct)).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), "grant seen");
        Assert.Equal(HttpStatusCode.Forbidden, (await server.Bob.GetAsync("/api/v1/namespaces/kube-system/configmaps", ct)).StatusCode);

        Assert.Equal(HttpStatusCode.OK,
            (await server.Admin.DeleteAsync("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings/bob-reads", ct)).StatusCode);
        await Poll.UntilAsync(async () => (await server.Bob.GetAsync(path, ct)).StatusCode == HttpStatusCode.Forbidden,
            TimeSpan.FromSeconds(30), "revocation seen");
    }

    [Fact]
    public void Remembered_decisions_are_per_user_and_attributes_and_dropped_when_the_policy_moves()
    {
        var policy = 1L;
        var grantBobNamed = true;
        var evaluations = 0;
        var role = System.Text.Json.Nodes.JsonNode.Parse("""{"rules":[{"apiGroups":[""],"resources":["leases"],"verbs":["update"],"resourceNames":["a"]}]}""")!.AsObject();
        var binding = System.Text.Json.Nodes.JsonNode.Parse("""
            {"metadata":{"name":"b"},"roleRef":{"kind":"ClusterRole","name":"r"},"subjects":[{"kind":"User","name":"bob"}]}
            """)!.AsObject();
        var authorizer = new RbacAuthorizer(
            plural =>
            {
                Interlocked.Increment(ref evaluations);
                return plural == "clusterrolebindings" && grantBobNamed ? [binding] : [];
            },
            (_, _, _) => role,
            () => policy);
        var bob = new UserInfo("bob", ["system:authenticated"]);
        var alice = new UserInfo("alice", ["system:authenticated"]);
        AuthorizationAttributes Update(string name) => new("update", "", "leases", null, "ns", name, null);

        Assert.True(authorizer.Allows(bob, Update("a")));
        var afterFirst = evaluations;
        Assert.True(authorizer.Allows(bob, Update("a")));
        Assert.Equal(afterFirst, evaluations); // remembered
        Assert.False(authorizer.Allows(bob, Update("other")));
        Assert.False(authorizer.Allows(alice, Update("a")));

        grantBobNamed = false;
        Assert.True(authorizer.Allows(bob, Update("a"))); // same policy version: the memo answers
        policy++;
        Assert.False(authorizer.Allows(bob, Update("a")));
    }
}
