using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using ImageAspire.ImageService.Apis;
using ImageAspire.ImageService.Extensions;
using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using ImageAspire.Tests.Unit.StateMachine;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace ImageAspire.Tests.Unit;

/// <summary>What the API answers for a failure says what is true, and every refusal is counted once, by reason.</summary>
[Collection(MeasuredMetrics.Name)]
public sealed class ErrorAnswerTests
{
    private static async Task<(bool Handled, int Status, JsonObject? Problem)> AnswerAsync(Exception exception)
    {
        var services = new ServiceCollection().AddLogging().AddProblemDetails().BuildServiceProvider();
        var context = new DefaultHttpContext { RequestServices = services };
        context.Response.Body = new MemoryStream();
        var handler = new ApiExceptionHandler(services.GetRequiredService<Microsoft.AspNetCore.Http.IProblemDetailsService>(),
            Options.Create(new StorageOptions()), NullLogger<ApiExceptionHandler>.Instance);

        var handled = await handler.TryHandleAsync(context, exception, TestContext.Current.CancellationToken);

        context.Response.Body.Position = 0;
        var problem = context.Response.Body.Length > 0 ? JsonNode.Parse(context.Response.Body) as JsonObject : null;
        return (handled, context.Response.StatusCode, problem);
    }

    [Fact]
    public async Task A_write_of_unknown_outcome_is_not_answered_as_nothing_changed()
    {
        // Each flow knows what is true of its case and what the caller may do: its message is the answer.
        const string message = "Storage did not answer while image x was confirmed: it may appear among your images within a few minutes, or not. Look before uploading it again.";
        var (_, status, problem) = await AnswerAsync(new UnknownOutcomeException(message));

        Assert.Equal(503, status);
        var detail = (string)problem!["detail"]!;
        Assert.Equal(message, detail);
        Assert.DoesNotContain("nothing was changed", detail, StringComparison.Ordinal);

        // A plain outage, where nothing was written, may still say so.
        var (_, outageStatus, outage) = await AnswerAsync(new HttpRequestException("connection refused"));
        Assert.Equal(503, outageStatus);
        Assert.Contains("nothing was changed", (string)outage!["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Only_the_services_own_authentication_failure_is_a_401()
    {
        var (handled, status, _) = await AnswerAsync(new CallerNotAuthenticatedException("The token's subject is not usable."));
        Assert.True(handled);
        Assert.Equal(401, status);

        // A file the process may not read is a server fault, not the caller's: left to the default 500.
        var (fileHandled, _, _) = await AnswerAsync(new UnauthorizedAccessException("Access to the path '/var/task/fonts' is denied."));
        Assert.False(fileHandled);
    }

    [Fact]
    public async Task Every_refusal_is_counted_once_by_reason_wherever_it_happens()
    {
        using var counted = new RefusalCounter();

        // The direct upload's size limit, a ticket's, Kestrel's body limit: each one answer, each counted once.
        using (var h = new Harness())
        {
            var tooLarge = await Assert.ThrowsAsync<ImageRejectedException>(() => h.Direct.UploadAsync(Harness.Owner, "big.jpg", new byte[(10 * 1024 * 1024) + 1], Harness.Token));
            await AnswerAsync(tooLarge);
            var ticket = await Assert.ThrowsAsync<ImageRejectedException>(() => h.Tickets.CreateAsync(Harness.Owner, "big.jpg", "image/jpeg", long.MaxValue, Harness.Token));
            await AnswerAsync(ticket);
        }

        await AnswerAsync(new BadHttpRequestException("Request body too large.", StatusCodes.Status413PayloadTooLarge));
        Assert.Equal(3, counted.Of(RejectionReason.TooLarge));

        // A corrupt direct upload: refused by the pipeline, answered once.
        using (var h = new Harness())
        {
            var corrupt = await Assert.ThrowsAsync<ImageRejectedException>(() => h.Direct.UploadAsync(Harness.Owner, "c.jpg", FakePipeline.Corrupt, Harness.Token));
            await AnswerAsync(corrupt);
        }

        Assert.Equal(1, counted.Of(RejectionReason.Corrupt));

        // A presigned upload refused after its object arrived is answered 200 with Failed: counted where that is
        // recorded, and not again when it is asked for again.
        using (var h = new Harness())
        {
            var upload = await h.Tickets.CreateAsync(Harness.Owner, "c.jpg", "image/jpeg", FakePipeline.Corrupt.Length, Harness.Token);
            h.Objects.Put(Harness.Originals, upload.Image.OriginalKey, FakePipeline.Corrupt);
            Assert.Equal(ImageStatus.Failed, (await h.Presigned.CompleteAsync(Harness.Owner, upload.Image.Id, Harness.Token))!.Status);
            Assert.Equal(ImageStatus.Failed, (await h.Presigned.CompleteAsync(Harness.Owner, upload.Image.Id, Harness.Token))!.Status);
        }

        Assert.Equal(2, counted.Of(RejectionReason.Corrupt));
        Assert.Equal(0, counted.Of(RejectionReason.Empty));
    }

    private sealed class RefusalCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<string, long> _counts = [];

        public RefusalCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ImageTelemetry.Name && instrument.Name == "imageaspire.images.failed")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "reason")
                    {
                        lock (_counts)
                        {
                            _counts[(string)tag.Value!] = _counts.GetValueOrDefault((string)tag.Value!) + value;
                        }
                    }
                }
            });
            _listener.Start();
        }

        public long Of(RejectionReason reason)
        {
            lock (_counts)
            {
                return _counts.GetValueOrDefault(reason.ToString());
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}

/// <summary>Tests that count the process's metrics run alone, so no other test's measurements mix in.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MeasuredMetrics
{
    public const string Name = "metrics";
}
