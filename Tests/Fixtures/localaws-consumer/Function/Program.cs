// A Lambda function on the Runtime API, with nothing but HttpClient: S3 notifications put one item per object into the
// table; an HTTP API request is answered with the caller's claims as the JWT authorizer passed them.
using System.Text;
using System.Text.Json.Nodes;
using Amazon.DynamoDBv2;
using Amazon.DynamoDBv2.Model;

var runtimeApi = Environment.GetEnvironmentVariable("AWS_LAMBDA_RUNTIME_API") ?? throw new InvalidOperationException("AWS_LAMBDA_RUNTIME_API is not set.");
var table = Environment.GetEnvironmentVariable("NOTES_TABLE") ?? throw new InvalidOperationException("NOTES_TABLE is not set.");
using var runtime = new HttpClient { BaseAddress = new Uri($"http://{runtimeApi}/2018-06-01/runtime/"), Timeout = Timeout.InfiniteTimeSpan };
var config = new AmazonDynamoDBConfig();
if (Environment.GetEnvironmentVariable("AWS_ENDPOINT_URL_DYNAMODB") is { Length: > 0 } endpoint)
{
    config.ServiceURL = endpoint;
    config.AuthenticationRegion = Environment.GetEnvironmentVariable("AWS_REGION");
}

using var dynamoDb = new AmazonDynamoDBClient(config);
while (true)
{
    using var next = await runtime.GetAsync("invocation/next");
    var requestId = next.Headers.GetValues("Lambda-Runtime-Aws-Request-Id").First();
    var invocation = JsonNode.Parse(await next.Content.ReadAsStringAsync())!;
    try
    {
        JsonNode answer;
        if (invocation["Records"] is JsonArray records)
        {
            foreach (var record in records)
            {
                await dynamoDb.PutItemAsync(new PutItemRequest
                {
                    TableName = table,
                    Item = new Dictionary<string, AttributeValue>
                    {
                        ["Key"] = new() { S = (string)record!["s3"]!["object"]!["key"]! },
                        ["Bucket"] = new() { S = (string)record["s3"]!["bucket"]!["name"]! },
                        ["Event"] = new() { S = (string)record["eventName"]! },
                    },
                });
            }

            answer = new JsonObject { ["stored"] = records.Count };
        }
        else
        {
            var claims = invocation["requestContext"]?["authorizer"]?["jwt"]?["claims"];
            answer = new JsonObject
            {
                ["statusCode"] = 200,
                ["headers"] = new JsonObject { ["content-type"] = "application/json" },
                ["body"] = new JsonObject { ["route"] = (string?)invocation["routeKey"], ["sub"] = (string?)claims?["sub"], ["username"] = (string?)claims?["username"] }.ToJsonString(),
            };
        }

        using var response = await runtime.PostAsync($"invocation/{requestId}/response", new StringContent(answer.ToJsonString(), Encoding.UTF8, "application/json"));
    }
    catch (Exception ex) when (ex is AmazonDynamoDBException or HttpRequestException or NullReferenceException or InvalidOperationException)
    {
        var error = new JsonObject { ["errorMessage"] = ex.Message, ["errorType"] = ex.GetType().Name };
        using var response = await runtime.PostAsync($"invocation/{requestId}/error", new StringContent(error.ToJsonString(), Encoding.UTF8, "application/json"));
    }
}
