using System.Diagnostics;
using System.Text;
using Amazon;
using Amazon.Runtime;
using ImageAspire.ImageService.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace ImageAspire.Tests.Unit.Telemetry;

/// <summary>
/// The service's OTLP trace exporter as it is configured in AWS, pointed at a local stand-in for X-Ray's OTLP endpoint:
/// what arrives is an OTLP/HTTP protobuf export of the spans, SigV4-signed for X-Ray so that an independent computation
/// of the signature from the received request agrees.
/// </summary>
public sealed class XRayExporterTests
{
    [Fact]
    public async Task Spans_reach_the_traces_endpoint_as_signed_OTLP_protobuf()
    {
        var received = new TaskCompletionSource<(IHeaderDictionary Headers, string Path, string Method, byte[] Body)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var endpoint = builder.Build();
        endpoint.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            received.TrySetResult((new HeaderDictionary(request.Headers.ToDictionary(h => h.Key, h => h.Value)), request.Path, request.Method, body.ToArray()));
            return Results.Ok();
        });
        await endpoint.StartAsync(TestContext.Current.CancellationToken);
        var address = new Uri(endpoint.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single());
        var credentials = new SessionAWSCredentials("ASIAEXAMPLEEXAMPLE00", "function-role-secret", "function-role-session");

        using var source = new ActivitySource("ImageAspire.XRayExporterTests");
        using (var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(source.Name)
            .AddOtlpExporter(otlp => ImageServiceTelemetry.ConfigureAwsTraces(otlp, new Uri(address, "/v1/traces"), RegionEndpoint.EUWest1, credentials))
            .Build())
        {
            using (source.StartActivity("redrive-span-under-test"))
            {
            }

            Assert.True(tracing.ForceFlush(10_000));
        }

        var (headers, path, method, body) = await received.Task.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal("/v1/traces", path);
        Assert.Equal("application/x-protobuf", headers.ContentType.ToString());
        Assert.Contains("redrive-span-under-test", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        Assert.Equal("function-role-session", headers["x-amz-security-token"].ToString());

        var authorization = headers.Authorization.ToString();
        var signedHeaders = SigV4Reference.SignedHeaders(authorization);
        Assert.Equal(["content-length", "content-type", "host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"], signedHeaders);
        var receivedHeaders = headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString(), StringComparer.Ordinal);
        Assert.Equal(
            SigV4Reference.Authorization(method, new Uri(address, path), receivedHeaders, body, "ASIAEXAMPLEEXAMPLE00", "function-role-secret", "eu-west-1", "xray", signedHeaders),
            authorization);
        await endpoint.StopAsync(TestContext.Current.CancellationToken);
    }
}
