using System.Net;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Aspire.Hosting.Testing;
using ImageAspire.Hosting.LocalAws;
using ImageAspire.Tests.Support;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

/// <summary>
/// The local Rekognition as a client of Amazon Rekognition sees it: the JSON 1.1 protocol signed with SigV4 by the AWS
/// SDK's handler (as the service will call it) and by the AWS CLI, the response shapes of AWS's documented examples,
/// Rekognition's errors for bad input, and real models looking at photographs whose content is known.
/// </summary>
[Collection(AppHostGroup.Name)]
public sealed class LocalRekognitionTests(AppHostFixture fixture)
{
    private static byte[] Photo(string name) => File.ReadAllBytes(Repository.PathOf("Tests", "Fixtures", "images", name));

    private Task<(HttpStatusCode Status, JsonObject Body)> CallAsync(string operation, JsonObject request, AWSCredentials? credentials = null, bool sign = true) =>
        LocalRekognitionCalls.CallAsync(fixture, operation, request, credentials, sign);

    private static JsonObject Image(byte[] bytes) => new() { ["Bytes"] = Convert.ToBase64String(bytes) };

    [Fact]
    public async Task DetectFaces_finds_the_astronauts_face_where_it_is()
    {
        var (status, body) = await CallAsync("DetectFaces", new JsonObject { ["Image"] = Image(Photo("astronaut.png")) });

        Assert.Equal(HttpStatusCode.OK, status);
        var face = Assert.Single(body["FaceDetails"]!.AsArray())!;
        Assert.InRange((double)face["Confidence"]!, 50, 100);
        var box = face["BoundingBox"]!;
        // Her face spans about a quarter of the picture's width, upper middle: its centre lies there.
        var centreX = (double)box["Left"]! + ((double)box["Width"]! / 2);
        var centreY = (double)box["Top"]! + ((double)box["Height"]! / 2);
        Assert.InRange(centreX, 0.35, 0.55);
        Assert.InRange(centreY, 0.15, 0.35);
        Assert.InRange((double)box["Width"]!, 0.15, 0.45);
    }

    [Fact]
    public async Task DetectFaces_finds_none_in_a_cup_of_coffee()
    {
        var (status, body) = await CallAsync("DetectFaces", new JsonObject { ["Image"] = Image(Photo("coffee.png")) });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Empty(body["FaceDetails"]!.AsArray());
    }

    [Fact]
    public async Task DetectLabels_answers_in_Rekognitions_shape_with_instances_parents_and_the_local_model_named()
    {
        var (status, body) = await CallAsync("DetectLabels", new JsonObject { ["Image"] = Image(Photo("coffee.png")), ["MinConfidence"] = 30 });

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.StartsWith("local-", (string)body["LabelModelVersion"]!, StringComparison.Ordinal);
        var labels = body["Labels"]!.AsArray();
        var cup = labels.Single(l => (string?)l!["Name"] == "Cup")!;
        Assert.InRange((double)cup["Confidence"]!, 30, 100);
        Assert.Contains("Tableware", cup["Parents"]!.AsArray().Select(p => (string?)p!["Name"]));
        var instance = Assert.Single(cup["Instances"]!.AsArray())!;
        Assert.InRange((double)instance["BoundingBox"]!["Width"]!, 0.05, 1);
        // A parent is a label of its own, as Rekognition lists it.
        Assert.Contains(labels, l => (string?)l!["Name"] == "Tableware");
        Assert.All(labels, l => Assert.True((double)l!["Confidence"]! >= 30));

        var (_, person) = await CallAsync("DetectLabels", new JsonObject { ["Image"] = Image(Photo("astronaut.png")), ["MinConfidence"] = 40, ["MaxLabels"] = 1 });
        Assert.Equal("Person", (string?)Assert.Single(person["Labels"]!.AsArray())!["Name"]);
    }

    [Fact]
    public async Task DetectModerationLabels_finds_nothing_to_moderate_in_safe_photographs()
    {
        foreach (var photo in new[] { "astronaut.png", "coffee.png" })
        {
            var (status, body) = await CallAsync("DetectModerationLabels", new JsonObject { ["Image"] = Image(Photo(photo)) });

            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Empty(body["ModerationLabels"]!.AsArray());
            Assert.StartsWith("local-", (string)body["ModerationModelVersion"]!, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Bad_input_gets_Rekognitions_errors()
    {
        async Task Expect(HttpStatusCode status, string type, string operation, JsonObject request, AWSCredentials? credentials = null, bool sign = true)
        {
            var (actual, body) = await CallAsync(operation, request, credentials, sign);
            Assert.Equal((status, type), (actual, (string?)body["__type"]));
            Assert.False(string.IsNullOrWhiteSpace((string?)body["Message"]));
        }

        var coffee = Photo("coffee.png");
        await Expect(HttpStatusCode.BadRequest, "InvalidImageFormatException", "DetectLabels", new JsonObject { ["Image"] = Image("not an image at all"u8.ToArray()) });
        await Expect(HttpStatusCode.BadRequest, "InvalidImageFormatException", "DetectFaces", new JsonObject { ["Image"] = Image(coffee[..(coffee.Length / 3)]) });
        await Expect(HttpStatusCode.BadRequest, "ImageTooLargeException", "DetectFaces", new JsonObject { ["Image"] = Image(new byte[(5 * 1024 * 1024) + 1]) });
        await Expect(HttpStatusCode.BadRequest, "InvalidParameterException", "DetectLabels", new JsonObject { ["Image"] = Image(coffee), ["MinConfidence"] = 101 });
        await Expect(HttpStatusCode.BadRequest, "InvalidParameterException", "DetectLabels", new JsonObject { ["Image"] = Image(coffee), ["MaxLabels"] = -1 });
        await Expect(HttpStatusCode.BadRequest, "InvalidParameterException", "DetectFaces", new JsonObject { ["Image"] = new JsonObject { ["S3Object"] = new JsonObject { ["Bucket"] = "b", ["Name"] = "k" } } });
        await Expect(HttpStatusCode.BadRequest, "InvalidParameterException", "DetectFaces", new JsonObject());
        await Expect(HttpStatusCode.BadRequest, "UnknownOperationException", "IndexFaces", new JsonObject { ["Image"] = Image(coffee) });
        await Expect(HttpStatusCode.BadRequest, "MissingAuthenticationTokenException", "DetectFaces", new JsonObject { ["Image"] = Image(coffee) }, sign: false);
        await Expect(HttpStatusCode.Forbidden, "InvalidSignatureException", "DetectFaces", new JsonObject { ["Image"] = Image(coffee) },
            new BasicAWSCredentials(LocalAwsBackend.EmbeddedAccessKeyId, "not-the-secret"));
        await Expect(HttpStatusCode.BadRequest, "UnrecognizedClientException", "DetectFaces", new JsonObject { ["Image"] = Image(coffee) },
            new BasicAWSCredentials("AKIAUNKNOWN", LocalAwsBackend.EmbeddedAccessKeyId));
    }

    [Fact]
    public async Task The_AWS_CLI_pointed_at_it_works()
    {
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync("rekognition", Timeout());
        var endpoint = fixture.App.GetEndpoint("rekognition", "http").ToString().TrimEnd('/');

        var (exitCode, output) = await Repository.RunAsync("env",
            [$"AWS_ACCESS_KEY_ID={LocalAwsBackend.EmbeddedAccessKeyId}", $"AWS_SECRET_ACCESS_KEY={LocalAwsBackend.EmbeddedAccessKeyId}",
             "AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
             "aws", "--endpoint-url", endpoint, "--output", "json", "rekognition", "detect-faces",
             "--image-bytes", "fileb://" + Repository.PathOf("Tests", "Fixtures", "images", "astronaut.png")],
            Repository.Root, Timeout());

        Assert.True(exitCode == 0, output);
        var json = output[output.IndexOf('{', StringComparison.Ordinal)..];
        Assert.Single(JsonNode.Parse(json)!["FaceDetails"]!.AsArray());
    }
}
