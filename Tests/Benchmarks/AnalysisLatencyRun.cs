using ImageAspire.Tests.Support;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Aspire.Hosting.Testing;
using ImageAspire.Hosting.LocalAws;

namespace ImageAspire.Benchmarks;

/// <summary>
/// What image analysis adds to an upload's answer: one client uploading the same photo N times to the real AppHost
/// (web mode) with analysis on, then to a fresh AppHost with the stack's switch off; p50 against p50. Locally the
/// Rekognition stand-in runs its models on the same two cores as the pipeline, which AWS's does not.
/// </summary>
public static class AnalysisLatencyRun
{
    public static async Task RunAsync(int uploads)
    {
        var image = Inputs.PhotoJpeg(1920, 1080);
        var on = await MeasureAsync(image, uploads, new Dictionary<string, string>());
        var off = await MeasureAsync(image, uploads, new Dictionary<string, string> { ["Analysis__Enabled"] = "false" });
        Console.WriteLine($"input: {image.Length / 1024} KiB 1920x1080 JPEG; {uploads} uploads each, one client, after 5 warm-up uploads");
        Console.WriteLine($"analysis on:  p50 {on.P50:0} ms, p95 {on.P95:0} ms");
        Console.WriteLine($"analysis off: p50 {off.P50:0} ms, p95 {off.P95:0} ms");
        Console.WriteLine($"p50 on / off = {on.P50 / off.P50:0.00}");
    }

    private static async Task<(double P50, double P95)> MeasureAsync(byte[] image, int uploads, IReadOnlyDictionary<string, string> serviceEnvironment)
    {
        var (app, environment) = await BenchmarkAppHost.StartAsync(serviceEnvironment);
        await using var appLifetime = app;
        await app.ResourceNotifications.WaitForResourceHealthyAsync("rekognition");
        using var cognitoHttp = new HttpClient();
        var cognito = new CognitoClient(cognitoHttp, app.GetEndpoint("cognito", "http"));
        var email = $"latency-{Guid.NewGuid():N}@example.com";
        await cognito.SignUpAndConfirmAsync(environment["UserPoolClientId"], email, "Load-pass1", LocalAwsBackend.ConfirmationCode);
        var tokens = await cognito.SignInAsync(environment["UserPoolClientId"], email, "Load-pass1");
        using var client = app.CreateHttpClient("imageservice", "http");
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", tokens.AccessToken);

        var latencies = new List<double>();
        for (var i = 0; i < uploads + 5; i++)
        {
            using var form = new MultipartFormDataContent();
            var content = new ByteArrayContent(image);
            content.Headers.ContentType = new MediaTypeHeaderValue("image/jpeg");
            form.Add(content, "file", $"{i}.jpg");
            var stopwatch = Stopwatch.StartNew();
            using var response = await client.PostAsync(new Uri("/api/images", UriKind.Relative), form);
            var elapsed = stopwatch.Elapsed.TotalMilliseconds;
            if (response.StatusCode != HttpStatusCode.Created)
            {
                throw new InvalidOperationException($"upload {i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }

            if (i >= 5)
            {
                latencies.Add(elapsed);
            }

            // Per-user rate limit: 5 a second.
            await Task.Delay(250);
        }

        latencies.Sort();
        return (latencies[latencies.Count / 2], latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(0.95 * latencies.Count) - 1)]);
    }
}
