using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using ImageAspire.ImageService.Storage;
using ImageAspire.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using NetVips;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

/// <summary>Hostile input, bad tokens, limits, races and load against the real AppHost: 4xx or success, never 5xx, nothing lost.</summary>
[Collection(AppHostGroup.Name)]
public sealed class HardeningTests(AppHostFixture fixture)
{

    public static IEnumerable<(string Name, byte[] Data, string FileName, string ContentType)> HostileFiles()
    {
        var jpeg = TestImages.Jpeg(640, 480);
        var png = TestImages.Png(300, 200, transparent: true);
        var webp = TestImages.WebP(300, 200);
        var gif = TestImages.Gif(120, 80);
        foreach (var (kind, data, type) in new[] { ("jpeg", jpeg, "image/jpeg"), ("png", png, "image/png"), ("webp", webp, "image/webp"), ("gif", gif, "image/gif") })
        {
            foreach (var fraction in new[] { 0.02, 0.1, 0.25, 0.5, 0.75, 0.9, 0.98 })
            {
                var cut = Math.Max(1, (int)(data.Length * fraction));
                yield return ($"{kind} truncated at {cut}", data[..cut], $"cut.{kind}", type);
            }

            var random = new Random(kind.Length);
            for (var i = 0; i < 6; i++)
            {
                var flipped = (byte[])data.Clone();
                var position = random.Next(2, Math.Min(64, flipped.Length));
                flipped[position] ^= (byte)(1 << random.Next(8));
                yield return ($"{kind} bit flip at {position}", flipped, $"flip.{kind}", type);
            }
        }

        yield return ("zero bytes", new byte[4096], "zeros.jpg", "image/jpeg");
        for (var i = 0; i < 3; i++)
        {
            var noise = RandomNumberGenerator.GetBytes(8192);
            noise[0] = 0x42;
            yield return ($"random bytes {i}", noise, "photo.jpg", "image/jpeg");
        }

        yield return ("SVG as PNG", "<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'><script>alert(1)</script></svg>"u8.ToArray(), "x.png", "image/png");
        yield return ("HTML as PNG", "<!DOCTYPE html><html><script>alert(1)</script></html>"u8.ToArray(), "x.png", "image/png");
        yield return ("65535x65535 header", TestImages.PngHeaderOnly(65_535, 65_535), "big.png", "image/png");
        yield return ("100000x100000 header", TestImages.PngHeaderOnly(100_000, 100_000), "bigger.png", "image/png");
        yield return ("JPEG header declaring 65500x65500", JpegDeclaring(65_500, 65_500, jpeg), "sof.jpg", "image/jpeg");
        yield return ("HEIC", TestImages.HeicHeader(), "iphone.heic", "image/heic");
        yield return ("PDF", "%PDF-1.7\n1 0 obj<<>>endobj"u8.ToArray(), "doc.jpg", "image/jpeg");
    }

    /// <summary>A JPEG whose SOF0 marker claims another size (the scan data stays small).</summary>
    private static byte[] JpegDeclaring(int width, int height, byte[] jpeg)
    {
        var copy = (byte[])jpeg.Clone();
        for (var i = 0; i < copy.Length - 9; i++)
        {
            if (copy[i] == 0xFF && copy[i + 1] is 0xC0 or 0xC2)
            {
                copy[i + 5] = (byte)(height >> 8);
                copy[i + 6] = (byte)height;
                copy[i + 7] = (byte)(width >> 8);
                copy[i + 8] = (byte)width;
                break;
            }
        }

        return copy;
    }

    [Fact]
    public async Task Hostile_files_get_a_4xx_problem_never_a_5xx_and_the_service_stays_healthy()
    {
        var (client, _) = await fixture.NewUserClientAsync(Timeout());
        using (client)
        {
            var outcomes = new List<string>();
            foreach (var (name, data, fileName, contentType) in HostileFiles())
            {
                using var response = await PostFileAsync(client, data, fileName, contentType);
                var status = (int)response.StatusCode;
                var body = await response.Content.ReadAsStringAsync(Timeout());
                outcomes.Add($"{name}: {status}");
                if (status == 201 && name.Contains("bit flip", StringComparison.Ordinal))
                {
                    // Some flipped bits land where they change nothing that matters (a quantisation value):
                    // still a valid image, processed in full.
                    Assert.Equal(6, ((JsonArray)JsonNode.Parse(body)!["renditions"]!).Count);
                    continue;
                }

                Assert.True(status is >= 400 and < 500, $"{name}: {status} {body}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            }

            TestContext.Current.TestOutputHelper?.WriteLine(string.Join('\n', outcomes));
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/health", UriKind.Relative), Timeout())).StatusCode);
        }
    }

    [Fact]
    public async Task Valid_but_unusual_files_are_processed_without_what_they_smuggle()
    {
        var (client, _) = await fixture.NewUserClientAsync(Timeout());
        using (client)
        {
            // JPEG followed by a ZIP: a valid JPEG; the renditions are re-encoded pixels, the payload cannot survive.
            var polyglot = TestImages.Jpeg(400, 300).Concat("PK\u0003\u0004smuggled-zip-payload"u8.ToArray()).ToArray();
            var image = await UploadOkAsync(client, polyglot, "poly.jpg", "image/jpeg");
            foreach (var rendition in (JsonArray)image["renditions"]!)
            {
                var bytes = await ReadRenditionAsync((string)rendition!["url"]!);
                Assert.Equal(-1, bytes.AsSpan().IndexOf("smuggled"u8));
            }

            // PNG bytes named .jpg and sent as image/jpeg: the bytes decide.
            var png = await UploadOkAsync(client, TestImages.Png(200, 150), "looks-like.jpg", "image/jpeg");
            Assert.Equal("image/png", (string?)png["contentType"]);

            // A GIF with thousands of frames: only the first is decoded.
            var frames = await UploadOkAsync(client, ManyFrameGif(3000), "frames.gif", "image/gif");
            Assert.Equal(16, (int)frames["height"]!);

            // Oversized EXIF: stripped with the rest.
            var exif = await UploadOkAsync(client, JpegWithHugeExif(), "exif.jpg", "image/jpeg");
            foreach (var rendition in (JsonArray)exif["renditions"]!)
            {
                using var decoded = NetVips.Image.NewFromBuffer(await ReadRenditionAsync((string)rendition!["url"]!));
                Assert.DoesNotContain("exif-data", decoded.GetFields());
            }
        }
    }

    [Fact]
    public async Task Malformed_multipart_requests_are_refused_with_4xx()
    {
        var (client, _) = await fixture.NewUserClientAsync(Timeout());
        using (client)
        {
            var boundary = "----b" + Guid.NewGuid().ToString("N");
            var hugeHeader = $"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\nX-Pad: {new string('a', 64 * 1024)}\r\n\r\nxx\r\n--{boundary}--\r\n";
            var manyParts = new StringBuilder();
            for (var i = 0; i < 300; i++)
            {
                manyParts.Append(CultureInfoInvariant($"--{boundary}\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n"));
            }

            manyParts.Append(CultureInfoInvariant($"--{boundary}--\r\n"));
            var manyFiles = new MultipartFormDataContent();
            for (var i = 0; i < 12; i++)
            {
                manyFiles.Add(new ByteArrayContent(TestImages.Jpeg(32, 32)), "file", $"{i}.jpg");
            }

            foreach (var (name, content) in new (string, HttpContent)[]
            {
                ("huge part header", Raw(hugeHeader, boundary)),
                ("300 parts", Raw(manyParts.ToString(), boundary)),
                ("12 files", manyFiles),
                ("unterminated body", Raw($"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n\r\nabc", boundary)),
                ("garbage", Raw("this is not multipart at all", boundary)),
            })
            {
                using (content)
                using (var response = await client.PostAsync(new Uri("/api/images", UriKind.Relative), content, Timeout()))
                {
                    Assert.True((int)response.StatusCode is >= 400 and < 500, $"{name}: {(int)response.StatusCode}");
                }
            }

            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/health", UriKind.Relative), Timeout())).StatusCode);
        }

        static string CultureInfoInvariant(FormattableString text) => FormattableString.Invariant(text);

        static ByteArrayContent Raw(string body, string boundary)
        {
            var content = new ByteArrayContent(Encoding.ASCII.GetBytes(body));
            content.Headers.TryAddWithoutValidation("Content-Type", $"multipart/form-data; boundary={boundary}");
            return content;
        }
    }

    [Fact]
    public async Task Every_kind_of_bad_token_is_refused_and_a_good_forged_one_proves_the_checks_bite()
    {
        var issuer = await IssuerAsync();
        var clientId = fixture.ClientId;
        var now = DateTime.UtcNow;
        Dictionary<string, object> Claims(string? iss = null, string? client = null, string use = "access") => new()
        {
            ["sub"] = Guid.NewGuid().ToString(),
            ["iss"] = iss ?? issuer,
            ["client_id"] = client ?? clientId,
            ["token_use"] = use,
        };

        var valid = TokenForge.Sign(Claims(), expires: now.AddMinutes(10));
        var cases = new Dictionary<string, string>
        {
            ["expired"] = TokenForge.Sign(Claims(), notBefore: now.AddHours(-2), expires: now.AddHours(-1), issuedAt: now.AddHours(-2)),
            ["not yet valid"] = TokenForge.Sign(Claims(), notBefore: now.AddHours(1), expires: now.AddHours(2)),
            ["wrong issuer"] = TokenForge.Sign(Claims(iss: "https://evil.example.com/pool"), expires: now.AddMinutes(10)),
            ["another user pool"] = TokenForge.Sign(Claims(iss: issuer[..(issuer.LastIndexOf('/') + 1)] + "local_otherpool"), expires: now.AddMinutes(10)),
            ["another client"] = TokenForge.Sign(Claims(client: "another-client"), expires: now.AddMinutes(10)),
            ["ID token"] = TokenForge.Sign(Claims(use: "id"), expires: now.AddMinutes(10)),
            ["alg none"] = TokenForge.WithoutSignature(Claims()),
            ["no expiry"] = TokenForge.Sign(Claims()),
            ["tampered"] = valid[..valid.LastIndexOf('.')].Replace(valid.Split('.')[1], Convert.ToBase64String(Encoding.UTF8.GetBytes("""{"sub":"x","token_use":"access"}""")).TrimEnd('=').Replace('+', '-').Replace('/', '_'), StringComparison.Ordinal) + valid[valid.LastIndexOf('.')..],
        };

        foreach (var (name, token) in cases)
        {
            using var client = fixture.CreateServiceClient(token);
            using var response = await client.GetAsync(new Uri("/api/me", UriKind.Relative), Timeout());
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{name}: {(int)response.StatusCode}");
        }

        using var good = fixture.CreateServiceClient(valid);
        Assert.Equal(HttpStatusCode.OK, (await good.GetAsync(new Uri("/api/me", UriKind.Relative), Timeout())).StatusCode);
    }

    [Fact]
    public async Task A_burst_from_one_user_is_limited_with_429_and_retry_after()
    {
        var (client, _) = await fixture.NewUserClientAsync(Timeout());
        using (client)
        {
            var responses = await Task.WhenAll(Enumerable.Range(0, 120).Select(_ => client.GetAsync(new Uri("/api/me", UriKind.Relative), Timeout())));
            try
            {
                Assert.Contains(responses, r => r.StatusCode == HttpStatusCode.OK);
                var limited = responses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
                Assert.NotEmpty(limited);
                Assert.All(limited, r => Assert.True(r.Headers.RetryAfter?.Delta > TimeSpan.Zero));
                Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, r.StatusCode.ToString()));

                // Another user is not affected.
                var (other, _) = await fixture.NewUserClientAsync(Timeout());
                using (other)
                {
                    Assert.Equal(HttpStatusCode.OK, (await other.GetAsync(new Uri("/api/me", UriKind.Relative), Timeout())).StatusCode);
                }
            }
            finally
            {
                foreach (var response in responses)
                {
                    response.Dispose();
                }
            }
        }
    }

    [Fact]
    public async Task A_repeated_s3_event_racing_complete_yields_one_image()
    {
        var (client, sub) = await fixture.NewUserClientAsync(Timeout());
        using (client)
        {
            var bytes = TestImages.Jpeg(1200, 900);
            var ticket = await CreateUploadAsync(client, "race.jpg", "image/jpeg", bytes.Length);
            var id = (string)ticket["id"]!;
            var key = $"originals/{sub}/{id}.jpg";
            // Written with the SDK so the local S3 raises its own event too.
            await fixture.S3.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest
            {
                BucketName = fixture.Environment["OriginalsBucketName"],
                Key = key,
                InputStream = new MemoryStream(bytes),
                ContentType = "image/jpeg",
            }, Timeout());

            var secret = await ServiceEnvironmentAsync("S3Events__Secret");
            var header = await ServiceEnvironmentAsync("S3Events__SecretHeader");
            var notification = ObjectCreated(key, bytes.Length);
            using var hookClient = fixture.CreateServiceClient();
            Task<HttpResponseMessage> Event()
            {
                var content = new StringContent(notification, Encoding.UTF8, "application/json");
                content.Headers.Add(header, secret);
                return hookClient.PostAsync(new Uri("/internal/s3-events", UriKind.Relative), content, Timeout());
            }

            var results = await Task.WhenAll(Event(), Event(), client.PostAsync(new Uri($"/api/uploads/{id}/complete", UriKind.Relative), null, Timeout()), Event());
            Assert.All(results, r => Assert.True(r.IsSuccessStatusCode, r.StatusCode.ToString()));

            var image = (await client.GetFromJsonAsync<JsonObject>($"/api/images/{id}", Timeout()))!;
            Assert.Equal("Ready", (string?)image["status"]);
            var list = (await client.GetFromJsonAsync<JsonObject>("/api/images", Timeout()))!;
            Assert.Single((JsonArray)list["items"]!);
            var renditions = await fixture.S3.ListObjectsV2Async(new() { BucketName = fixture.Environment["RenditionsBucketName"], Prefix = fixture.RenditionsPrefixOf(sub) }, Timeout());
            Assert.Equal(6, renditions.S3Objects.Count);

            // The same event again later changes nothing.
            using var again = await Event();
            Assert.True(again.IsSuccessStatusCode);
            Assert.Equal(image.ToJsonString(), (await client.GetFromJsonAsync<JsonObject>($"/api/images/{id}", Timeout()))!.ToJsonString());
        }
    }

    [Fact]
    public async Task Presigned_uploads_that_break_their_terms_fail_cleanly_and_cannot_be_replayed()
    {
        var (client, sub) = await fixture.NewUserClientAsync(Timeout());
        using (client)
        {
            var jpeg = TestImages.Jpeg(500, 400);

            // Announced as PNG, uploaded as JPEG.
            var wrongType = await CreateUploadAsync(client, "a.png", "image/png", jpeg.Length);
            await PutAsync(wrongType, jpeg);
            var failed = await CompleteAsync(client, (string)wrongType["id"]!);
            Assert.Equal("Failed", (string?)failed["status"]);
            Assert.Contains("image/png", (string?)failed["error"], StringComparison.Ordinal);

            // The URL is signed for one key, one content type and one size: S3 refuses anything else.
            var ticket = await CreateUploadAsync(client, "b.jpg", "image/jpeg", jpeg.Length);
            var url = (string)ticket["uploadUrl"]!;
            var key = new Uri(url).AbsolutePath;
            Assert.EndsWith($"/originals/{sub}/{ticket["id"]}.jpg", key, StringComparison.Ordinal);
            var otherOwner = Guid.NewGuid().ToString();
            var elsewhere = url.Replace($"/originals/{sub}/", $"/originals/{otherOwner}/", StringComparison.Ordinal);
            var otherId = url.Replace((string)ticket["id"]!, ImageId.New(DateTimeOffset.UtcNow), StringComparison.Ordinal);
            var longer = url.Replace("X-Amz-Expires=", "X-Amz-Expires=9", StringComparison.Ordinal);
            var headers = TicketPuts.Headers(ticket);
            Assert.Equal(HttpStatusCode.Forbidden, await TicketPuts.PutAsync(elsewhere, headers, jpeg, Timeout()));
            Assert.Equal(HttpStatusCode.Forbidden, await TicketPuts.PutAsync(otherId, headers, jpeg, Timeout()));
            Assert.Equal(HttpStatusCode.Forbidden, await TicketPuts.PutAsync(longer, headers, jpeg, Timeout()));
            Assert.Equal(HttpStatusCode.Forbidden, await TicketPuts.PutAsync(url, new Dictionary<string, string>(headers) { ["Content-Type"] = "image/png" }, jpeg, Timeout()));
            Assert.Equal(HttpStatusCode.Forbidden, await TicketPuts.PutAsync(url, headers.Where(h => h.Key != "If-None-Match").ToDictionary(), jpeg, Timeout()));
            Assert.Equal(HttpStatusCode.Forbidden, await TicketPuts.PutAsync(url, headers, [.. jpeg, .. jpeg], Timeout()));
            Assert.Equal(HttpStatusCode.Forbidden, await TicketPuts.PutAsync(url, headers, jpeg[..^1], Timeout()));
            using (var early = await client.PostAsync(new Uri($"/api/uploads/{ticket["id"]}/complete", UriKind.Relative), null, Timeout()))
            {
                Assert.Equal(HttpStatusCode.Conflict, early.StatusCode);
            }

            Assert.Empty(await fixture.ListKeysAsync(fixture.Environment["OriginalsBucketName"], $"originals/{sub}/", Timeout()));
            Assert.Empty(await fixture.ListKeysAsync(fixture.Environment["OriginalsBucketName"], $"originals/{otherOwner}/", Timeout()));

            // A used URL cannot overwrite the processed original, even with bytes of the signed size.
            var good = await CreateUploadAsync(client, "c.jpg", "image/jpeg", jpeg.Length);
            await PutAsync(good, jpeg);
            var ready = await CompleteAsync(client, (string)good["id"]!);
            Assert.Equal("Ready", (string?)ready["status"]);
            var replay = (byte[])jpeg.Clone();
            replay[^3] ^= 0xFF;
            Assert.Equal(HttpStatusCode.PreconditionFailed, await TicketPuts.PutAsync(good, replay, Timeout()));
            using (var original = await fixture.S3.GetObjectAsync(fixture.Environment["OriginalsBucketName"], $"originals/{sub}/{good["id"]}.jpg", Timeout()))
            {
                Assert.Equal(SHA256.HashData(jpeg), await SHA256.HashDataAsync(original.ResponseStream, Timeout()));
            }

            await Task.Delay(1000, Timeout());
            var after = await CompleteAsync(client, (string)good["id"]!);
            Assert.Equal(ready.ToJsonString(), after.ToJsonString());
        }
    }

    [Fact]
    public async Task Two_hundred_uploads_from_two_users_leave_items_originals_and_renditions_one_to_one()
    {
        var users = new[] { await fixture.NewUserClientAsync(Timeout()), await fixture.NewUserClientAsync(Timeout()) };
        var statuses = new System.Collections.Concurrent.ConcurrentBag<HttpStatusCode>();
        using var gate = new SemaphoreSlim(8);
        var uploads = Enumerable.Range(0, 200).Select(async i =>
        {
            await gate.WaitAsync(Timeout(300));
            try
            {
                using var response = await PostFileAsync(users[i % 2].Client, TestImages.Jpeg(256 + (i % 7), 192), $"{i}.jpg", "image/jpeg");
                statuses.Add(response.StatusCode);
            }
            finally
            {
                gate.Release();
            }
        });
        await Task.WhenAll(uploads);

        Assert.All(statuses, s => Assert.True(s is HttpStatusCode.Created or HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable, s.ToString()));
        var created = statuses.Count(s => s == HttpStatusCode.Created);
        Assert.True(created > 50, $"only {created} of 200 succeeded");

        var total = 0;
        foreach (var (client, sub) in users)
        {
            var items = new List<JsonNode>();
            string? cursor = null;
            do
            {
                await Task.Delay(250, Timeout()); // stay inside the per-user rate limit
                var page = (await client.GetFromJsonAsync<JsonObject>($"/api/images?limit=100" + (cursor is null ? string.Empty : $"&cursor={Uri.EscapeDataString(cursor)}"), Timeout()))!;
                items.AddRange(((JsonArray)page["items"]!).Select(n => n!));
                cursor = (string?)page["nextCursor"];
            }
            while (cursor is not null);

            var originals = await fixture.ListKeysAsync(fixture.Environment["OriginalsBucketName"], $"originals/{sub}/", Timeout());
            var renditions = await fixture.ListKeysAsync(fixture.Environment["RenditionsBucketName"], fixture.RenditionsPrefixOf(sub), Timeout());
            Assert.Equal(items.Select(i => $"originals/{sub}/{i["id"]}.jpg").Order(), originals.Order());
            Assert.Equal(items.Count * 6, renditions.Count);
            Assert.All(items, i => Assert.Equal("Ready", (string?)i["status"]));
            total += items.Count;
            client.Dispose();
        }

        Assert.Equal(created, total);
    }

    [Fact]
    public async Task The_local_S3_webhook_refuses_events_without_its_secret_and_processes_nothing()
    {
        var (client, sub) = await fixture.NewUserClientAsync(Timeout());
        using (client)
        {
            var bytes = TestImages.Jpeg(300, 200);
            var ticket = await CreateUploadAsync(client, "hook.jpg", "image/jpeg", bytes.Length);
            var id = (string)ticket["id"]!;
            var header = await ServiceEnvironmentAsync("S3Events__SecretHeader");
            var secret = await ServiceEnvironmentAsync("S3Events__Secret");
            var notification = ObjectCreated($"originals/{sub}/{id}.jpg", bytes.Length);
            using var hookClient = fixture.CreateServiceClient();

            foreach (var given in new string?[] { null, string.Empty, secret + "x", secret[..^1] })
            {
                using var content = new StringContent(notification, Encoding.UTF8, "application/json");
                if (given is not null)
                {
                    content.Headers.Add(header, given);
                }

                using var response = await hookClient.PostAsync(new Uri("/internal/s3-events", UriKind.Relative), content, Timeout());
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            }

            // Nothing was uploaded and nothing was processed: the ticket's image is still waiting for its object.
            var image = (await client.GetFromJsonAsync<JsonObject>($"/api/images/{id}", Timeout()))!;
            Assert.Equal("Pending", (string?)image["status"]);
        }
    }

    // An S3 object-created notification for an original, as the local S3 posts it to the webhook.
    private string ObjectCreated(string key, long size) => new JsonObject
    {
        ["Records"] = new JsonArray(new JsonObject
        {
            ["eventName"] = "ObjectCreated:Put",
            ["s3"] = new JsonObject
            {
                ["bucket"] = new JsonObject { ["name"] = fixture.Environment["OriginalsBucketName"] },
                ["object"] = new JsonObject { ["key"] = key, ["size"] = size },
            },
        }),
    }.ToJsonString();

    private async Task<string> IssuerAsync() => await ServiceEnvironmentAsync("Auth__Issuer");

    private async Task<string> ServiceEnvironmentAsync(string name)
    {
        var model = fixture.App.Services.GetRequiredService<DistributedApplicationModel>();
        var service = model.Resources.OfType<ProjectResource>().Single(r => r.Name == "imageservice");
#pragma warning disable CS0618 // the replacement (ExecutionConfigurationBuilder) needs far more ceremony for one value
        var environment = await service.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Run);
#pragma warning restore CS0618
        return environment[name];
    }

    private static async Task<HttpResponseMessage> PostFileAsync(HttpClient client, byte[] data, string fileName, string contentType)
    {
        using var form = new MultipartFormDataContent();
        var content = new ByteArrayContent(data);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        form.Add(content, "file", fileName);
        return await client.PostAsync(new Uri("/api/images", UriKind.Relative), form, Timeout());
    }

    private static async Task<JsonObject> UploadOkAsync(HttpClient client, byte[] data, string fileName, string contentType)
    {
        using var response = await PostFileAsync(client, data, fileName, contentType);
        var body = await response.Content.ReadAsStringAsync(Timeout());
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"{fileName}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body)!.AsObject();
    }

    private Task<byte[]> ReadRenditionAsync(string url) => fixture.ReadRenditionAsync("renditions/" + url["/media/".Length..], Timeout());

    private static async Task<JsonObject> CreateUploadAsync(HttpClient client, string fileName, string contentType, long size)
    {
        using var response = await client.PostAsJsonAsync("/api/uploads", new { fileName, contentType, size }, Timeout());
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>(Timeout()))!;
    }

    private static async Task PutAsync(JsonObject ticket, byte[] data) =>
        Assert.Equal(HttpStatusCode.OK, await TicketPuts.PutAsync(ticket, data, Timeout()));

    private static async Task<JsonObject> CompleteAsync(HttpClient client, string id)
    {
        using var response = await client.PostAsync(new Uri($"/api/uploads/{id}/complete", UriKind.Relative), null, Timeout());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonObject>(Timeout()))!;
    }

    private static byte[] ManyFrameGif(int frames)
    {
        using var strip = NetVips.Image.Black(16, 16 * frames, bands: 3).Cast(Enums.BandFormat.Uchar);
        using var paged = strip.Mutate(m => m.Set(GValue.GIntType, "page-height", 16));
        return paged.GifsaveBuffer();
    }

    private static byte[] JpegWithHugeExif()
    {
        using var image = TestImages.Gradient(400, 300);
        using var tagged = image.Mutate(m => m.Set(GValue.GStrType, "exif-ifd0-ImageDescription", new string('x', 60_000)));
        return tagged.JpegsaveBuffer(keep: Enums.ForeignKeep.All);
    }
}
