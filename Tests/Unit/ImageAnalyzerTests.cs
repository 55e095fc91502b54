using ImageAspire.ImageService.Processing;
using System.Net;
using System.Text;
using ImageAspire.ImageService.Analysis;
using ImageAspire.ImageService.Storage;
using ImageAspire.Tests.Unit.StateMachine;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ImageAspire.Tests.Unit;

/// <summary>
/// The analysis step: Rekognition's documented answers read into the stored analysis (bounded), and every way a call
/// can fail turned into an analysis that reads Failed while the upload succeeds. Throttling and a hung endpoint cannot
/// be caused for real locally, so an HTTP handler plays Rekognition's part here; the local Rekognition is tested in
/// the integration tier.
/// </summary>
public sealed class ImageAnalyzerTests
{
    // The shapes of AWS's documented response examples (DetectLabels, DetectModerationLabels, DetectFaces API references).
    private const string DocumentedLabels = """
        {"Labels":[{"Name":"Mobile Phone","Parents":[{"Name":"Phone"}],"Aliases":[{"Name":"Cell Phone"}],"Categories":[{"Name":"Technology and Computing"}],
          "Confidence":99.9364013671875,"Instances":[{"BoundingBox":{"Width":0.26779675483703613,"Height":0.8562285900115967,"Left":0.3604024350643158,"Top":0.09245597571134567},
          "Confidence":99.9364013671875,"DominantColors":[]}]}],"ImageProperties":{},"LabelModelVersion":"3.0"}
        """;

    private const string DocumentedModeration = """
        {"ModerationLabels":[{"Confidence":99.44782257080078,"Name":"Smoking","ParentName":"Drugs & Tobacco Paraphernalia & Use","TaxonomyLevel":3}],"ModerationModelVersion":"7.0","ContentTypes":[]}
        """;

    private const string DocumentedFaces = """
        {"FaceDetails":[{"BoundingBox":{"Width":0.7919622659683228,"Height":0.7919622659683228,"Left":0.10416666418313980,"Top":0.10781990736722946},
          "Confidence":99.99996185302734,"Landmarks":[{"Type":"eyeLeft","X":0.4,"Y":0.4}],"Pose":{"Roll":0,"Yaw":0,"Pitch":0},"Quality":{"Brightness":50,"Sharpness":80}}],
          "OrientationCorrection":"ROTATE_0"}
        """;

    private static RekognitionImageAnalyzer Analyzer(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> rekognition, AnalysisOptions? options = null) =>
        new(new RekognitionClient(new HttpClient(new Stub(rekognition)) { BaseAddress = new Uri("http://rekognition.test/") }),
            Options.Create(options ?? new AnalysisOptions { Timeout = TimeSpan.FromSeconds(1) }), NullLogger<RekognitionImageAnalyzer>.Instance);

    private static HttpResponseMessage Json(HttpStatusCode status, string body) =>
        new(status) { Content = new StringContent(body, Encoding.UTF8, "application/x-amz-json-1.1") };

    private static Task<HttpResponseMessage> Documented(HttpRequestMessage request, CancellationToken _) =>
        Task.FromResult(Json(HttpStatusCode.OK, request.Headers.GetValues("X-Amz-Target").Single() switch
        {
            "RekognitionService.DetectLabels" => DocumentedLabels,
            "RekognitionService.DetectModerationLabels" => DocumentedModeration,
            "RekognitionService.DetectFaces" => DocumentedFaces,
            var other => throw new InvalidOperationException(other),
        }));

    [Fact]
    public async Task Rekognitions_documented_answers_become_the_stored_analysis()
    {
        var analysis = await Analyzer(Documented).Start([0xFF, 0xD8, 0xFF], AnalysisSettings.Default, TestContext.Current.CancellationToken).Analysis;

        Assert.Equal(AnalysisStatus.Done, analysis.Status);
        var phone = Assert.Single(analysis.Labels);
        Assert.Equal(("Mobile Phone", 99.9364013671875), (phone.Name, phone.Confidence));
        Assert.Equal(["Phone"], phone.Parents);
        Assert.Equal(new BoundingBox(0.3604024350643158, 0.09245597571134567, 0.26779675483703613, 0.8562285900115967), Assert.Single(phone.Boxes));
        Assert.Equal(new ModerationLabel("Smoking", "Drugs & Tobacco Paraphernalia & Use", 99.44782257080078), Assert.Single(analysis.Moderation));
        Assert.True(analysis.Sensitive);
        Assert.Equal(0.10416666418313980, Assert.Single(analysis.Faces).Box.Left, 10);
        Assert.Equal("rekognition-labels 3.0, moderation 7.0", analysis.Model);
    }

    [Fact]
    public async Task The_request_is_Rekognitions_JSON_with_the_image_as_base64()
    {
        var bodies = new List<string>();
        await Analyzer(async (request, ct) =>
        {
            lock (bodies)
            {
                bodies.Add(request.Headers.GetValues("X-Amz-Target").Single() + " " + request.Content!.Headers.ContentType + " " + request.Content.ReadAsStringAsync(ct).Result);
            }

            return await Documented(request, ct);
        }, new AnalysisOptions { Timeout = TimeSpan.FromSeconds(1) })
            .Start([1, 2, 3], new AnalysisSettings(Enabled: true, LabelMinConfidence: 60, ModerationMinConfidence: 80), TestContext.Current.CancellationToken).Analysis;

        Assert.Contains("""RekognitionService.DetectLabels application/x-amz-json-1.1 {"Image":{"Bytes":"AQID"},"MaxLabels":50,"MinConfidence":60}""", bodies);
        Assert.Contains("""RekognitionService.DetectModerationLabels application/x-amz-json-1.1 {"Image":{"Bytes":"AQID"},"MinConfidence":80}""", bodies);
        Assert.Contains("""RekognitionService.DetectFaces application/x-amz-json-1.1 {"Image":{"Bytes":"AQID"}}""", bodies);
    }

    [Fact]
    public async Task The_stored_lists_stay_bounded_whatever_Rekognition_answers()
    {
        var instances = string.Join(',', Enumerable.Repeat("""{"BoundingBox":{"Width":0.1,"Height":0.1,"Left":0.1,"Top":0.1},"Confidence":90}""", 30));
        var labels = "{\"Labels\":[" + string.Join(',', Enumerable.Range(0, 120).Select(i => $$"""{"Name":"L{{i}}","Confidence":{{50 + (i % 50)}},"Instances":[{{instances}}]}""")) + "]}";
        var faces = "{\"FaceDetails\":[" + string.Join(',', Enumerable.Repeat("""{"BoundingBox":{"Width":0.1,"Height":0.1,"Left":0.1,"Top":0.1},"Confidence":99}""", 200)) + "]}";
        var analysis = await Analyzer((request, _) => Task.FromResult(Json(HttpStatusCode.OK, request.Headers.GetValues("X-Amz-Target").Single() switch
        {
            "RekognitionService.DetectLabels" => labels,
            "RekognitionService.DetectFaces" => faces,
            _ => """{"ModerationLabels":[]}""",
        }))).Start([1], AnalysisSettings.Default, TestContext.Current.CancellationToken).Analysis;

        Assert.Equal(ImageAnalysis.MaxLabels, analysis.Labels.Count);
        Assert.All(analysis.Labels, l => Assert.Equal(ImageAnalysis.MaxBoxesPerLabel, l.Boxes.Count));
        Assert.Equal(ImageAnalysis.MaxFaces, analysis.Faces.Count);
        Assert.Equal(99, analysis.Labels[0].Confidence);
        Assert.False(analysis.Sensitive);
    }

    public static TheoryData<string> Failures() => ["throttled", "refused image", "unreachable", "hung", "garbage"];

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task A_failing_Rekognition_gives_an_analysis_that_reads_failed_never_an_exception(string failure)
    {
        var analysis = await Analyzer(async (_, ct) => failure switch
        {
            "throttled" => Json(HttpStatusCode.BadRequest, """{"__type":"ThrottlingException","Message":"Slow down"}"""),
            "refused image" => Json(HttpStatusCode.BadRequest, """{"__type":"com.amazonaws.rekognition#InvalidImageFormatException","Message":"Request has invalid image format"}"""),
            "unreachable" => throw new HttpRequestException("Connection refused"),
            "hung" => await HangAsync(ct),
            _ => Json(HttpStatusCode.OK, "<html>not json</html>"),
        }).Start([1], AnalysisSettings.Default, TestContext.Current.CancellationToken).Analysis;

        Assert.Equal(AnalysisStatus.Failed, analysis.Status);
        Assert.False(string.IsNullOrWhiteSpace(analysis.Error));
        Assert.Empty(analysis.Labels);
        // A refused image would be refused again; everything else may pass on another try.
        Assert.Equal(failure != "refused image", analysis.Retryable);
        if (failure == "throttled")
        {
            Assert.Contains("ThrottlingException", analysis.Error, StringComparison.Ordinal);
        }
        else if (failure == "refused image")
        {
            Assert.StartsWith("InvalidImageFormatException", analysis.Error, StringComparison.Ordinal);
        }
        else if (failure == "hung")
        {
            Assert.Equal("Rekognition did not answer within 1 s.", analysis.Error);
        }
    }

    [Fact]
    public async Task Switched_off_it_calls_nothing()
    {
        var calls = 0;
        var analysis = await Analyzer((request, ct) => { calls++; return Documented(request, ct); }, new AnalysisOptions { Enabled = false })
            .Start([1], AnalysisSettings.Default, TestContext.Current.CancellationToken).Analysis;

        Assert.Equal(AnalysisStatus.Off, analysis.Status);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task Switched_off_in_the_settings_document_it_calls_nothing_either()
    {
        var calls = 0;
        var analysis = await Analyzer((request, ct) => { calls++; return Documented(request, ct); })
            .Start([1], AnalysisSettings.Default with { Enabled = false }, TestContext.Current.CancellationToken).Analysis;

        Assert.Equal(AnalysisStatus.Off, analysis.Status);
        Assert.Equal(0, calls);
    }

    [Fact]
    public async Task A_failed_analysis_leaves_both_kinds_of_upload_ready_with_the_failure_recorded()
    {
        using var h = new Harness();
        h.Analyzer.Answer = (_, _) => Task.FromResult(ImageAnalysis.Failed("Rekognition did not answer within 5 s."));

        var direct = await h.Direct.UploadAsync(Harness.Owner, "a.jpg", FakePipeline.Good, Harness.Token);
        Assert.Equal(ImageStatus.Ready, direct.Status);
        Assert.Equal(AnalysisStatus.Failed, direct.Analysis!.Status);
        Assert.Equal(AnalysisStatus.Failed, h.Metadata.Peek(Harness.Owner, direct.Id)!.Analysis!.Status);

        var upload = await h.Tickets.CreateAsync(Harness.Owner, "b.jpg", "image/jpeg", FakePipeline.Good.Length, Harness.Token);
        h.Objects.Put(Harness.Originals, upload.Image.OriginalKey, FakePipeline.Good);
        var presigned = await h.Presigned.CompleteAsync(Harness.Owner, upload.Image.Id, Harness.Token);
        Assert.Equal(ImageStatus.Ready, presigned!.Status);
        Assert.Equal(AnalysisStatus.Failed, presigned.Analysis!.Status);
        Assert.Equal(2, h.Analyzer.Calls);
    }

    [Fact]
    public async Task An_analysis_that_never_answers_does_not_hold_a_direct_upload_and_holds_a_presigned_one_only_for_the_store_budget()
    {
        using var h = new Harness();
        h.Analyzer.Answer = (_, _) => new TaskCompletionSource<ImageAnalysis>().Task;
        var budget = new StorageOptions().Deadlines.StoreBudget;
        var upload = await h.Tickets.CreateAsync(Harness.Owner, "b.jpg", "image/jpeg", FakePipeline.Good.Length, Harness.Token);
        h.Objects.Put(Harness.Originals, upload.Image.OriginalKey, FakePipeline.Good);

        // Answered with the analysis still running: it did not wait for it (the clock only says how fast the test ran).
        var (direct, _) = await OnTheFakeClockAsync(h, async () => await h.Direct.UploadAsync(Harness.Owner, "a.jpg", FakePipeline.Good, Harness.Token));
        Assert.Null(direct.Failure);
        Assert.Equal((ImageStatus.Ready, AnalysisStatus.Pending), (direct.Image!.Status, direct.Image.Analysis!.Status));

        // An S3 event's invocation has no caller waiting: it waits for the analysis, within the store budget.
        var (presigned, presignedTime) = await OnTheFakeClockAsync(h, () => h.Presigned.CompleteAsync(Harness.Owner, upload.Image.Id, Harness.Token));
        Assert.IsAssignableFrom<TimeoutException>(presigned.Failure);
        Assert.True(presignedTime <= budget + new StorageOptions().Deadlines.ResolveBudget + TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(h.Metadata.Items, i => i.Status == ImageStatus.Ready && i.Id != direct.Image.Id);
    }

    private static async Task<((ImageRecord? Image, Exception? Failure) Outcome, TimeSpan Waited)> OnTheFakeClockAsync(Harness h, Func<Task<ImageRecord?>> call)
    {
        var started = h.Time.GetUtcNow();
        var answer = Harness.TryAsync(call);
        for (var step = 0; step < 200 && !answer.IsCompleted; step++)
        {
            h.Time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Delay(2, Harness.Token);
        }

        Assert.True(answer.IsCompleted, "the upload waited for an analysis that never answers");
        return (await answer, h.Time.GetUtcNow() - started);
    }

    [Fact]
    public async Task The_analysis_is_committed_with_the_image_in_the_same_write()
    {
        using var h = new Harness();
        var writesBefore = h.Plan.Log.Count(c => c.Contains("ddb.", StringComparison.Ordinal));

        var stored = await h.Direct.StoreAsync(Harness.Owner, "a.jpg", FakePipeline.Good, Harness.Token);

        // The create carries it: no write of its own (the confirmation that follows is the upload's, not the analysis's).
        Assert.Equal(FakeAnalyzer.Found, h.Metadata.Peek(Harness.Owner, stored.Image.Id)!.Analysis);
        Assert.Equal(["ddb.create"], h.Plan.Log.Where(c => c.Contains("ddb.", StringComparison.Ordinal)).Skip(writesBefore).Select(c => c[(c.IndexOf(':', StringComparison.Ordinal) + 1)..]));
    }

    private static async Task<HttpResponseMessage> HangAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        return Json(HttpStatusCode.OK, "{}");
    }

    private sealed class Stub(Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>> answer) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => answer(request, cancellationToken);
    }
}
