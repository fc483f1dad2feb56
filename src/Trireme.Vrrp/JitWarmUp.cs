using System.Reflection;
using System.Runtime.CompilerServices;

namespace Trireme.Vrrp;

/// <summary>
/// Compiles methods ahead of their first call. A backup's takeover path (advert send, netlink add,
/// gratuitous ARP, latency record) first runs at the takeover itself, and compiling it there cost
/// 1.5–2 ms between the Master_Down_Timer and the packets — measured with DOTNET_JitDisasmSummary,
/// which listed those methods as compiled at that moment. Paths that can run without side effects
/// are run at start instead (see <c>VrrpInstance.WarmUp</c>); these cannot, because they send.
/// </summary>
internal static class JitWarmUp
{
    private const BindingFlags Declared =
        BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly;

    public static void Prepare(Type type, params string[] names)
    {
        foreach (var method in type.GetMethods(Declared))
        {
            if (Array.IndexOf(names, method.Name) >= 0 && !method.IsAbstract && !method.ContainsGenericParameters)
            {
                RuntimeHelpers.PrepareMethod(method.MethodHandle);
            }
        }
    }
}
