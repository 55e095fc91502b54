using System.Net;
using System.Text;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Signing;

namespace ImageAspire.Tests.Unit.Telemetry;

/// <summary>
/// The AWS SDK's SigV4 handler as the service uses it (X-Ray exports, Rekognition calls), against AWS's published
/// example and an independent computation of the signature from what was sent.
/// </summary>
public sealed class SigV4SigningTests
{
    [Fact]
    public async Task S3s_documented_get_object_example_signs_as_published()
    {
        // Amazon S3 API Reference, "Signature Calculations for the Authorization Header", example GET Object.
        var captured = new CapturingHandler();
        var parameters = new AWSSigV4Parameters
        {
            Credentials = new BasicAWSCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            Region = RegionEndpoint.USEast1,
            Service = "s3",
            SignedAt = new DateTime(2013, 5, 24, 0, 0, 0, DateTimeKind.Utc),
        };
        using var client = new HttpClient(new SigV4SigningHandler(parameters, captured));
        using var request = new HttpRequestMessage(HttpMethod.Get, "https://examplebucket.s3.amazonaws.com/test.txt");
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 9);

        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
            captured.Request!.Headers.GetValues("Authorization").Single());
    }

    [Fact]
    public async Task A_post_signed_for_xray_with_session_credentials_verifies_independently()
    {
        var captured = new CapturingHandler();
        var parameters = new AWSSigV4Parameters
        {
            Credentials = new SessionAWSCredentials("ASIAEXAMPLEEXAMPLE00", "secret/with+chars", "session-token-value"),
            Region = RegionEndpoint.EUWest1,
            Service = "xray",
            SignedAt = new DateTime(2026, 11, 29, 20, 0, 0, DateTimeKind.Utc),
        };
        using var client = new HttpClient(new SigV4SigningHandler(parameters, captured));
        var body = Encoding.UTF8.GetBytes("protobuf bytes of an export request");
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-protobuf");

        using var response = await client.PostAsync(new Uri("https://xray.eu-west-1.amazonaws.com/v1/traces"), content, TestContext.Current.CancellationToken);

        var request = captured.Request!;
        Assert.Equal(body, captured.Body);
        Assert.Equal("session-token-value", request.Headers.GetValues("x-amz-security-token").Single());
        var headers = request.Headers.Concat(request.Content!.Headers).ToDictionary(h => h.Key.ToLowerInvariant(), h => string.Join(',', h.Value), StringComparer.Ordinal);
        headers["host"] = request.RequestUri!.Host;
        Assert.Equal(
            SigV4Reference.Authorization("POST", request.RequestUri, headers, body, "ASIAEXAMPLEEXAMPLE00", "secret/with+chars", "eu-west-1", "xray", SigV4Reference.SignedHeaders(request.Headers.GetValues("Authorization").Single())),
            request.Headers.GetValues("Authorization").Single());
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE00/20261129/eu-west-1/xray/aws4_request, ", request.Headers.GetValues("Authorization").Single(), StringComparison.Ordinal);
        Assert.Contains("x-amz-security-token", SigV4Reference.SignedHeaders(request.Headers.GetValues("Authorization").Single()));
    }

    [Fact]
    public void The_reference_computation_reproduces_the_published_example()
    {
        // The check above is only as good as the reference: it must give S3's published signature too.
        var empty = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData([]));
        var headers = new Dictionary<string, string>
        {
            ["host"] = "examplebucket.s3.amazonaws.com",
            ["range"] = "bytes=0-9",
            ["x-amz-content-sha256"] = empty,
            ["x-amz-date"] = "20130524T000000Z",
        };
        Assert.EndsWith(
            "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
            SigV4Reference.Authorization("GET", new Uri("https://examplebucket.s3.amazonaws.com/test.txt"), headers, [], "AKIAIOSFODNN7EXAMPLE",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "s3", ["host", "range", "x-amz-content-sha256", "x-amz-date"]),
            StringComparison.Ordinal);
    }

    private sealed class CapturingHandler : HttpMessageHandler
    {
        public HttpRequestMessage? Request { get; private set; }

        public byte[]? Body { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Request = request;
            Body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
            return new HttpResponseMessage(HttpStatusCode.OK);
        }
    }
}
