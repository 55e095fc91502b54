using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using ImageAspire.Hosting.LocalAws;
using ImageAspire.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

/// <summary>
/// The function's log as CloudWatch would get it in AWS (the local Lambda service tells it the template's LoggingConfig):
/// JSON lines with the invocation's request id and trace id, the service's metrics as EMF lines, and no token, email
/// address or key anywhere, whatever the user does.
/// </summary>
[Collection(LambdaAppHostGroup.Name)]
public sealed partial class LambdaLogTests(LambdaAppHostFixture fixture)
{

    [Fact]
    public async Task The_functions_log_is_json_with_request_and_trace_ids_and_emf_metrics_and_holds_no_secrets()
    {
        var lines = new ConcurrentQueue<string>();
        using var watching = new CancellationTokenSource();
        // By resource, not by name: logs are kept under the running instance's name (imageservice-<suffix>).
        var instance = fixture.App.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == "imageservice");
        var watcher = Task.Run(async () =>
        {
            await foreach (var batch in fixture.App.Services.GetRequiredService<ResourceLoggerService>().WatchAsync(instance).WithCancellation(watching.Token))
            {
                foreach (var line in batch)
                {
                    lines.Enqueue(line.Content);
                }
            }
        }, CancellationToken.None);

        // Earlier tests' work may still be under way in this AppHost: an S3 event the local Lambda service retries 5 and
        // 10 s after a failed attempt can process one of their uploads, and its metrics would count here (CI22 counted 3
        // processed images for 1). Start once the function has written nothing for longer than the longest retry delay.
        var quiet = Stopwatch.StartNew();
        for (var (seen, waited) = (-1, Stopwatch.StartNew()); quiet.Elapsed < TimeSpan.FromSeconds(12) && waited.Elapsed < TimeSpan.FromSeconds(90);)
        {
            if (lines.Count != seen)
            {
                (seen, quiet) = (lines.Count, Stopwatch.StartNew());
            }

            await Task.Delay(250, Timeout());
        }

        // The watch replays the log from the process's start, earlier tests' lines included: what this test did is after this.
        var started = DateTimeOffset.UtcNow.AddSeconds(-1);
        var email = $"logs-{Guid.NewGuid():N}@example.com";
        const string password = "Test-pass1";
        await fixture.Cognito.SignUpAndConfirmAsync(fixture.ClientId, email, password, LocalAwsBackend.ConfirmationCode, Timeout());
        var tokens = await fixture.Cognito.SignInAsync(fixture.ClientId, email, password, Timeout());
        ApiAnswer truncated;
        using (var client = fixture.CreateServiceClient(tokens.AccessToken))
        {
            var upload = await ApiCalls.UploadAsync(client, TestImages.Jpeg(640, 480), "logs.jpg", "image/jpeg", Timeout());
            Assert.Equal(HttpStatusCode.Created, upload.Status);
            var refused = await ApiCalls.UploadAsync(client, "not an image"u8.ToArray(), "bad.jpg", "image/jpeg", Timeout());
            Assert.True((int)refused.Status is >= 400 and < 500, refused.Status.ToString());
            // A JPEG cut in half: libvips warns about it, and its warning must be a line of the log like any other.
            var whole = TestImages.Jpeg(800, 600);
            truncated = await ApiCalls.UploadAsync(client, whole[..(whole.Length / 2)], "cut.jpg", "image/jpeg", Timeout());
            Assert.True((int)truncated.Status is 201 or (>= 400 and < 500), truncated.Status.ToString());
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/api/images", UriKind.Relative), Timeout())).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/api/me", UriKind.Relative), Timeout())).StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(new Uri("/api/media/session", UriKind.Relative), null, Timeout())).StatusCode);
            Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync(new Uri($"/api/images/{upload.Id}", UriKind.Relative), Timeout())).StatusCode);
        }

        // The id token where an access token belongs: API Gateway's JWT authorizer lets it through (its audience is the
        // client), the function refuses it; neither it nor its email claim may be logged.
        using (var wrong = fixture.CreateServiceClient(tokens.IdToken))
        {
            await wrong.GetAsync(new Uri("/api/images", UriKind.Relative), Timeout());
        }

        // The EMF lines are written after each invocation's answer: wait for the upload's.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!lines.Any(l => l.Contains("imageaspire.images.processed", StringComparison.Ordinal)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, Timeout());
        }

        await Task.Delay(500, Timeout());
        await watching.CancelAsync();
        await watcher.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ContinueOnCapturedContext);

        // What the function wrote: the lines after Aspire's own about starting it.
        var written = lines.Select(Content).SkipWhile(c => !c.StartsWith('{')).Where(c => c.Length > 0).ToList();
        var json = written.Where(c => c.StartsWith('{')).Select(c => (JsonObject)JsonNode.Parse(c)!).ToList();
        Assert.NotEmpty(json);
        // Every log line is Lambda's JSON; the only other lines are EMF documents.
        var logLines = json.Where(j => j["_aws"] is null).ToList();
        Assert.All(logLines, line => Assert.True(line["timestamp"] is not null && line["level"] is not null && line["message"] is not null && line["logger"] is not null, line.ToJsonString()));
        Assert.All(written, c => Assert.StartsWith("{", c, StringComparison.Ordinal));
        var inInvocations = logLines.Where(l => l["requestId"] is not null
            && DateTimeOffset.Parse((string)l["timestamp"]!, System.Globalization.CultureInfo.InvariantCulture) >= started).ToList();
        Assert.NotEmpty(inInvocations);
        Assert.Contains(inInvocations, l => l["traceId"] is JsonValue t && XRayTraceId().IsMatch((string)t!));
        Assert.Contains(inInvocations, l => (string?)l["logger"] == "ImageAspire.ImageService.Processing.LibvipsLog" && (string?)l["level"] == "WARN" && l["traceId"] is not null);

        // The metrics of what this test did: one image processed per upload answered 201.
        var emf = json.Where(j => j["_aws"] is not null && DateTimeOffset.FromUnixTimeMilliseconds((long)j["_aws"]!["Timestamp"]!) >= started).ToList();
        Assert.Equal(truncated.Status == HttpStatusCode.Created ? 2 : 1, emf.Where(e => e["imageaspire.images.processed"] is not null).Sum(e => (double)e["imageaspire.images.processed"]!));
        Assert.Contains(emf, e => e["imageaspire.images.failed"] is not null && e["Reason"] is not null);
        Assert.Contains(emf, e => e["imageaspire.pipeline.duration"] is not null);

        var secrets = new[]
        {
            tokens.AccessToken, tokens.IdToken, tokens.RefreshToken, email,
            fixture.MediaEnvironment["Media__PathKey"],
            fixture.MediaEnvironment["Media__PrivateKey"].Split('\n')[1],
        };
        foreach (var line in lines)
        {
            Assert.All(secrets, secret => Assert.DoesNotContain(secret, line, StringComparison.Ordinal));
        }
    }

    // Aspire prefixes a resource's console lines with their timestamp.
    private static string Content(string line) => TimestampPrefix().Replace(line, string.Empty).Trim();

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T[\d:.]+Z\s")]
    private static partial Regex TimestampPrefix();

    [GeneratedRegex("^1-[0-9a-f]{8}-[0-9a-f]{24}$")]
    private static partial Regex XRayTraceId();
}
