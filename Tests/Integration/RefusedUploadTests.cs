using System.Net;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using ImageAspire.ImageService.Storage;
using ImageAspire.Tests.Support;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

/// <summary>
/// A direct upload refused because the table did not answer, whose create lands after the service that refused it
/// has been killed: nothing of the refusal was kept in a process, so the image must never be shown, and the sweep must
/// find it from what is stored alone.
/// </summary>
[Collection(FaultAppHostGroup.Name)]
public sealed class RefusedUploadTests(FaultAppHostFixture fixture)
{
    [Fact]
    public async Task A_refused_upload_whose_create_lands_after_the_service_was_killed_is_never_shown_and_is_swept()
    {
        var (client, sub) = await fixture.NewUserClientAsync(Timeout());
        using var _ = client;
        // The create is held past the request, and so is every read of the user's item: the service cannot learn the outcome.
        fixture.DynamoDbProxy.Inject(r => r.Body.Contains(sub, StringComparison.Ordinal)
            && ((r.Operation == "PutItem" && r.Body.Contains("attribute_not_exists", StringComparison.Ordinal)) || r.Operation == "GetItem"),
            ProxyFault.HoldThenForwardLate, times: 20);
        ApiAnswer answer;
        try
        {
            answer = await ApiCalls.UploadAsync(client, TestImages.Jpeg(320, 240), "refused.jpg", "image/jpeg", Timeout());
        }
        finally
        {
            fixture.DynamoDbProxy.Clear();
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, answer.Status);
        Assert.Contains("will not appear", answer.Body?["detail"]?.ToString(), StringComparison.Ordinal);

        // The service that refused it is killed; then the held create lands.
        await fixture.App.ResourceCommands.ExecuteCommandAsync("imageservice", KnownResourceCommands.StopCommand, Timeout());
        await WaitUntilGoneAsync(client);
        ImageRecord landed;
        try
        {
            await fixture.DynamoDbProxy.LandHeldRequestsAsync();
            var raw = await StoredImages.Store(fixture).ListAsync(sub, 10, null, Timeout());
            landed = Assert.Single(raw.Items);
            Assert.Equal(ImageStatus.Ready, landed.Status);
            Assert.NotNull(landed.ConfirmBy);
        }
        finally
        {
            await fixture.App.ResourceCommands.ExecuteCommandAsync("imageservice", KnownResourceCommands.StartCommand, Timeout());
            await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("imageservice", WaitBehavior.WaitOnResourceUnavailable, Timeout());
        }

        // A new process: it was never told anything, and shows the image to nobody.
        var list = JsonNode.Parse(await client.GetStringAsync(new Uri("/api/images", UriKind.Relative), Timeout()))!;
        Assert.Empty(list["items"]!.AsArray());
        using (var read = await client.GetAsync(new Uri($"/api/images/{landed.Id}", UriKind.Relative), Timeout()))
        {
            Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        }

        // The sweep (the service's own code, as the schedule runs it) finds it once its window has passed, and discards it.
        await Task.Delay(FaultAppHostFixture.ConfirmWindow + TimeSpan.FromSeconds(1), Timeout());
        await StoredImages.SweepAndAssertNothingUnreferencedAsync(fixture, sub, FaultAppHostFixture.ClaimTimeout, Timeout());
        var after = await StoredImages.Store(fixture).GetAsync(sub, landed.Id, Timeout());
        Assert.Equal(ImageStatus.Discarded, after?.Status);
        Assert.Empty(await fixture.ListKeysAsync(fixture.Environment["OriginalsBucketName"], $"originals/{sub}/", Timeout()));
    }

    /// <summary>Until the service's process no longer answers (the connection is refused, or Aspire's proxy holds it unanswered).</summary>
    private static async Task WaitUntilGoneAsync(HttpClient client)
    {
        for (var tries = 0; tries < 120; tries++)
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(Timeout());
            attempt.CancelAfter(TimeSpan.FromSeconds(3));
            try
            {
                using var alive = await client.GetAsync(new Uri("/alive", UriKind.Relative), attempt.Token);
            }
            catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !Timeout().IsCancellationRequested))
            {
                return;
            }

            await Task.Delay(500, Timeout());
        }

        Assert.Fail("the service still answers after it was stopped");
    }
}
