using System.Net;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using ImageAspire.Tests.Support;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

/// <summary>Web mode: the analysis that outlasted the answer is stored in the background.</summary>
[Collection(FaultAppHostGroup.Name)]
public sealed class AnalysisAfterAnswerWebTests(FaultAppHostFixture fixture) : AnalysisAfterAnswerTests(fixture, lambdaMode: false);

/// <summary>Lambda mode: it is stored after the answer is posted and before the function asks for the next invocation.</summary>
[Collection(RedriveAppHostGroup.Name)]
public sealed class AnalysisAfterAnswerLambdaTests(RedriveAppHostFixture fixture) : AnalysisAfterAnswerTests(fixture, lambdaMode: true);

/// <summary>
/// An upload is answered without waiting for an analysis that outlasts the storage of its renditions: the answer reads
/// <c>Pending</c>, and the analysis is stored when it ends. The local Rekognition is made slow for real (its
/// DetectLabels held by the proxy, still within the analysis timeout).
/// </summary>
public abstract class AnalysisAfterAnswerTests(ProxiedAppHostFixture fixture, bool lambdaMode)
{
    [Fact]
    public async Task An_upload_whose_analysis_is_slow_is_answered_pending_and_its_analysis_is_stored_when_it_ends()
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("rekognition", Timeout());
        using var client = (await fixture.NewUserClientAsync(Timeout())).Client;
        var photo = await File.ReadAllBytesAsync(Repository.PathOf("Tests", "Fixtures", "images", "astronaut.png"), Timeout());
        fixture.RekognitionProxy.Inject(r => r.Operation == "DetectLabels", ProxyFault.DelayThenForward);
        try
        {
            var upload = await ApiCalls.UploadAsync(client, photo, "astronaut.png", "image/png", Timeout());

            Assert.Equal(HttpStatusCode.Created, upload.Status);
            Assert.Equal(("Ready", "Pending"), (upload.ImageStatus, (string?)upload.Body!["analysis"]!["status"]));
            Assert.Equal(6, upload.Body["renditions"]!.AsArray().Count);
            Assert.Contains(fixture.RekognitionProxy.Faulted, f => f.Request.Operation == "DetectLabels");

            JsonNode image;
            if (lambdaMode)
            {
                // The function stored it before it asked for the next invocation, so the very next request reads it.
                image = JsonNode.Parse(await client.GetStringAsync(new Uri($"/api/images/{upload.Id}", UriKind.Relative), Timeout()))!;
            }
            else
            {
                image = await ApiCalls.AnalysedAsync(client, upload.Id!, Timeout());
            }

            var analysis = image["analysis"]!;
            Assert.Equal(("Done", 1), ((string?)analysis["status"], (int)analysis["attempts"]!));
            Assert.Contains("Person", analysis["labels"]!.AsArray().Select(l => (string?)l!["name"]));
            Assert.Single(analysis["faces"]!.AsArray());
            var found = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/images?label=person", UriKind.Relative), Timeout()))!;
            Assert.Equal(upload.Id, (string?)Assert.Single(found["items"]!.AsArray())!["id"]);
        }
        finally
        {
            fixture.RekognitionProxy.Clear();
        }
    }
}
