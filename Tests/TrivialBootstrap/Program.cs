// Polls the Lambda Runtime API and answers every invocation with a fixed API Gateway response: no host, no DI, no
// JSON serializer. The image service's bootstrap is measured against this program's cold start.
var runtimeApi = Environment.GetEnvironmentVariable("AWS_LAMBDA_RUNTIME_API")
    ?? throw new InvalidOperationException("AWS_LAMBDA_RUNTIME_API is not set.");
using var http = new HttpClient { BaseAddress = new Uri($"http://{runtimeApi}/2018-06-01/runtime/"), Timeout = Timeout.InfiniteTimeSpan };
while (true)
{
    using var next = await http.GetAsync(new Uri("invocation/next", UriKind.Relative));
    var requestId = next.Headers.GetValues("Lambda-Runtime-Aws-Request-Id").First();
    using var answer = new StringContent("""{"statusCode":200,"body":"Healthy","isBase64Encoded":false}""");
    using var posted = await http.PostAsync(new Uri($"invocation/{requestId}/response", UriKind.Relative), answer);
}
