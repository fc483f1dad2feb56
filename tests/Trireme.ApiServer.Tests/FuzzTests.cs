// Fuzz targets for the two decoders that take wire input before anything else checks it: request
// body decoding (JSON, YAML, Kubernetes protobuf) and selector parsing. Property: any input either
// decodes or is refused with the typed rejection (ApiException 400/415, SelectorParseException) —
// never another exception, never a hang. Seeded, so a failure replays; inputs are mutations of valid
// samples (including the protobuf body kubectl really sent) plus random bytes.
using System.Text;
using Trireme.ApiServer.Core;

namespace Trireme.ApiServer.Tests;

public sealed class FuzzTests
{
    /// <summary>Iterations per run; TRIREME_FUZZ_ITERATIONS raises it for a longer soak.</summary>
    private static int Iterations =>
        int.TryParse(Environment.GetEnvironmentVariable("TRIREME_FUZZ_ITERATIONS"), out var n) ? n : 3000;

    private static byte[] Mutate(Random random, byte[] seed)
    {
        var bytes = seed.ToList();
        var edits = random.Next(1, 8);
        for (var i = 0; i < edits && bytes.Count > 0; i++)
        {
            var at = random.Next(bytes.Count);
            switch (random.Next(4))
            {
                case 0:
                    bytes[at] = (byte)random.Next(256);
                    break;
                case 1:
                    bytes.RemoveAt(at);
                    break;
                case 2:
                    bytes.Insert(at, (byte)random.Next(256));
                    break;
                default:
                    bytes.RemoveRange(at, bytes.Count - at);
                    break;
            }
        }

        return bytes.ToArray();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Body_decoding_accepts_or_rejects_with_a_status(int seed)
    {
        var random = new Random(seed);
        var samples = new (byte[] Bytes, string Type)[]
        {
            (File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "testdata", "create-deployment-web.pb")), "application/vnd.kubernetes.protobuf"),
            (Encoding.UTF8.GetBytes("""{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"a":"b"}},"spec":{"containers":[{"name":"c","image":"i"}]}}"""), "application/json"),
            (Encoding.UTF8.GetBytes("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  k: 'v'\n  n: [1, 2]\n"), "application/yaml"),
        };
        for (var i = 0; i < Iterations; i++)
        {
            var (bytes, type) = samples[random.Next(samples.Length)];
            var input = random.Next(10) == 0 ? RandomBytes(random) : Mutate(random, bytes);
            try
            {
                BodyDecoder.Decode(input, type, false);
            }
            catch (ApiException e) when (e.Code is 400 or 415)
            {
            }
        }
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 64)];
        random.NextBytes(bytes);
        if (bytes.Length > 4 && random.Next(2) == 0)
        {
            "k8s\0"u8.CopyTo(bytes);
        }

        return bytes;
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void Selector_parsing_accepts_or_rejects_with_a_parse_error(int seed)
    {
        var random = new Random(seed);
        var samples = new[]
        {
            "app=web,tier!=db,env in (a,b),!gone,present", "a notin (x, y)", "k==v", "spec.nodeName=n1,status.phase!=Failed",
            "involvedObject.namespace=,involvedObject.kind=Node",
        };
        const string Alphabet = "ab=!,() inotx.-_/9";
        for (var i = 0; i < Iterations; i++)
        {
            var text = new StringBuilder(samples[random.Next(samples.Length)]);
            for (var e = random.Next(1, 5); e > 0 && text.Length > 0; e--)
            {
                var at = random.Next(text.Length);
                if (random.Next(2) == 0)
                {
                    text[at] = Alphabet[random.Next(Alphabet.Length)];
                }
                else
                {
                    text.Insert(at, Alphabet[random.Next(Alphabet.Length)]);
                }
            }

            try
            {
                LabelSelector.Parse(text.ToString()).Matches(new Dictionary<string, string> { ["app"] = "web" });
            }
            catch (SelectorParseException)
            {
            }

            try
            {
                FieldSelector.Parse(text.ToString());
            }
            catch (SelectorParseException)
            {
            }
        }
    }

    // Regressions found by the body fuzz target: YamlDotNet throws ArgumentException/InvalidCastException
    // for some malformed documents, and aliases can expand exponentially.
    [Theory]
    [InlineData("a: b\n- c\n")]
    [InlineData("? [a]\n: b\n")]
    [InlineData("a: &x [1, *x]\n")]
    [InlineData("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n")]
    public void Malformed_or_exploding_yaml_is_a_400(string yaml)
    {
        var error = Assert.Throws<ApiException>(() => BodyDecoder.Decode(Encoding.UTF8.GetBytes(yaml), "application/yaml", false));
        Assert.Equal(400, error.Code);
    }
}
