using System.Net;
using System.Text;
using Amazon.Runtime.Internal.Auth;
using ImageAspire.ServiceDefaults;
using Microsoft.Extensions.Time.Testing;

namespace ImageAspire.Tests.Unit.Telemetry;

/// <summary>The SigV4 signer against AWS's published test vectors and the AWS SDK's own signer.</summary>
public sealed class AwsSigV4Tests
{
    // The credentials and instant of AWS's Signature Version 4 test suite.
    private static readonly AwsSigningCredentials Suite = new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", null);
    private static readonly DateTimeOffset SuiteAt = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);
    private static readonly string EmptySha256 = AwsSigV4.Sha256Hex([]);

    [Theory]
    // get-vanilla and post-vanilla of the SigV4 test suite.
    [InlineData("GET", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")]
    [InlineData("POST", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")]
    public void The_test_suite_vanilla_requests_sign_as_published(string method, string signature)
    {
        var authorization = AwsSigV4.Authorization(method, new Uri("https://example.amazonaws.com/"),
            [new("Host", "example.amazonaws.com"), new("X-Amz-Date", "20150830T123600Z")], EmptySha256, Suite, "us-east-1", "service", SuiteAt);

        Assert.Equal($"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature={signature}", authorization);
    }

    [Fact]
    public void S3s_documented_get_object_example_signs_as_published()
    {
        // Amazon S3 API Reference, "Signature Calculations for the Authorization Header", example GET Object.
        var authorization = AwsSigV4.Authorization("GET", new Uri("https://examplebucket.s3.amazonaws.com/test.txt"),
            [new("Host", "examplebucket.s3.amazonaws.com"), new("Range", "bytes=0-9"), new("x-amz-content-sha256", EmptySha256), new("x-amz-date", "20130524T000000Z")],
            EmptySha256, new AwsSigningCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", null),
            "us-east-1", "s3", new DateTimeOffset(2013, 5, 24, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", authorization);
    }

    [Fact]
    public async Task A_request_the_handler_signs_for_xray_verifies_with_the_AWS_SDKs_signer()
    {
        var credentials = new AwsSigningCredentials("ASIAEXAMPLEEXAMPLE00", "secret/with+chars", "session-token-value");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 20, 0, 0, TimeSpan.Zero));
        var captured = new CapturingHandler();
        using var client = new HttpClient(new SigV4SigningHandler("eu-west-1", "xray", () => credentials, time) { InnerHandler = captured });
        var body = Encoding.UTF8.GetBytes("protobuf bytes of an export request");
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-protobuf");

        using var response = await client.PostAsync(new Uri("https://xray.eu-west-1.amazonaws.com/v1/traces"), content, TestContext.Current.CancellationToken);

        var request = captured.Request!;
        Assert.Equal(body, captured.Body);
        Assert.Equal("20261129T200000Z", request.Headers.GetValues("x-amz-date").Single());
        Assert.Equal("session-token-value", request.Headers.GetValues("x-amz-security-token").Single());
        var authorization = request.Headers.GetValues("Authorization").Single();
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE00/20261129/eu-west-1/xray/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=", authorization, StringComparison.Ordinal);

        // The SDK's signer, over the canonical request of what was sent, gives the same signature.
        var (canonical, signedHeaders) = AwsSigV4.CanonicalRequest("POST", request.RequestUri!,
            [new("content-type", "application/x-protobuf"), new("host", "xray.eu-west-1.amazonaws.com"), new("x-amz-date", "20261129T200000Z"), new("x-amz-security-token", "session-token-value")],
            AwsSigV4.Sha256Hex(body), doubleEncodePath: true);
        Assert.Equal($"POST\n/v1/traces\n\ncontent-type:application/x-protobuf\nhost:xray.eu-west-1.amazonaws.com\nx-amz-date:20261129T200000Z\nx-amz-security-token:session-token-value\n\n{signedHeaders}\n{AwsSigV4.Sha256Hex(body)}", canonical);
        var sdk = AWS4Signer.ComputeSignature(credentials.AccessKeyId, credentials.SecretAccessKey, "eu-west-1", time.GetUtcNow().UtcDateTime, "xray", signedHeaders, canonical);
        Assert.EndsWith($"Signature={sdk.Signature}", authorization, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_credentials_the_request_goes_unsigned()
    {
        var captured = new CapturingHandler();
        using var client = new HttpClient(new SigV4SigningHandler("eu-west-1", "xray", () => null, TimeProvider.System) { InnerHandler = captured });
        using var response = await client.GetAsync(new Uri("https://xray.eu-west-1.amazonaws.com/"), TestContext.Current.CancellationToken);
        Assert.False(captured.Request!.Headers.Contains("Authorization"));
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
