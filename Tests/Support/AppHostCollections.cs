using System.Net;
using System.Text.Json.Nodes;
using Aspire.Hosting.Testing;

namespace ImageAspire.Tests.Support;

// Every AppHost the suites start, with the collection that shares it: one per configuration, each started once for
// the test classes of its collection. The plain and Lambda-mode ones are in AppHostFixture.cs.

/// <summary>An AppHost of its own: these tests stop and restart the emulators and inject faults through the proxies.</summary>
public sealed class FaultAppHostFixture : ProxiedAppHostFixture
{
    public static readonly TimeSpan UploadExpiry = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan ClaimTimeout = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan SweepGrace = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(5);

    // Short, so a test can watch abandoned uploads and claims time out, and the sweeper work.
    protected override IReadOnlyDictionary<string, string> ServiceEnvironment => new Dictionary<string, string>(base.ServiceEnvironment)
    {
        ["Processing__PresignedUploadExpiry"] = UploadExpiry.ToString(),
        ["Processing__ClaimTimeout"] = ClaimTimeout.ToString(),
        ["Sweeper__Grace"] = SweepGrace.ToString(),
        ["Sweeper__Interval"] = SweepInterval.ToString(),
        ["Sweeper__RetryInterval"] = TimeSpan.FromSeconds(1).ToString(),
        ["Analysis__RetryDelay"] = AnalysisRetryDelay.ToString(),
        ["Storage__Deadlines__ConfirmWindow"] = ConfirmWindow.ToString(),
    };

    /// <summary>Short, so a test's sweep may discard an upload that was never confirmed a few seconds later.</summary>
    public static readonly TimeSpan ConfirmWindow = TimeSpan.FromSeconds(3);

    /// <summary>A failed analysis is tried again this long after (then twice as long, and so on).</summary>
    public static readonly TimeSpan AnalysisRetryDelay = TimeSpan.FromSeconds(2);
}

[CollectionDefinition(Name)]
public sealed class FaultAppHostGroup : ICollectionFixture<FaultAppHostFixture>
{
    public const string Name = "apphost-faults";
}

/// <summary>An AppHost whose service runs one pipeline at a time and queues none, so concurrent uploads meet the bound.</summary>
public sealed class NarrowPipelineAppHostFixture : AppHostFixture
{
    protected override IReadOnlyDictionary<string, string> ServiceEnvironment { get; } = new Dictionary<string, string>
    {
        ["Processing__MaxConcurrentPipelines"] = "1",
        ["Processing__MaxQueuedPipelines"] = "0",
    };
}

[CollectionDefinition(Name)]
public sealed class NarrowPipelineAppHostGroup : ICollectionFixture<NarrowPipelineAppHostFixture>
{
    public const string Name = "apphost-narrow-pipeline";
}

/// <summary>Lambda mode with a 6 s function timeout, the service reaching its stores through the fault proxies.</summary>
public sealed class LambdaFaultAppHostFixture : ProxiedAppHostFixture
{
    public static readonly TimeSpan FunctionTimeout = TimeSpan.FromSeconds(6);

    protected override bool LambdaMode => true;

    // What these tests hold is the commit past a 6 s deadline; an analysis beside the renditions (up to its own 5 s
    // timeout on a busy machine) would make the deadline meet the analysis instead.
    protected override IReadOnlyDictionary<string, string> ServiceEnvironment => new Dictionary<string, string>(base.ServiceEnvironment)
    {
        ["Analysis__Enabled"] = "false",
    };

    protected override IReadOnlyDictionary<string, string> LambdaEnvironment { get; } = new Dictionary<string, string>
    {
        ["Lambda__TimeoutSeconds"] = FunctionTimeout.TotalSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>
    /// Runs one whole presigned upload first, so the test's invocations find warm code: on a busy two-core machine a
    /// first call through an SDK client or the pipeline can take longer than the 6 s the fault needs as a deadline.
    /// </summary>
    public override async ValueTask InitializeAsync()
    {
        await base.InitializeAsync();
        using var cancellation = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var jpeg = TestImages.Jpeg(640, 480);
        for (var attempt = 1; !await WarmUpAsync(jpeg, cancellation.Token); attempt++)
        {
            Assert.True(attempt < 5, "The function did not finish a warm-up upload in five attempts.");
        }
    }

    private async Task<bool> WarmUpAsync(byte[] jpeg, CancellationToken cancellationToken)
    {
        try
        {
            var (client, _) = await NewUserClientAsync(cancellationToken);
            using (client)
            {
                var ticket = await ApiCalls.CreateUploadAsync(client, "warm-up.jpg", "image/jpeg", jpeg.Length, cancellationToken);
                return ticket.Status == HttpStatusCode.Created
                    && await TicketPuts.PutAsync(ticket.Body!, jpeg, cancellationToken) == HttpStatusCode.OK
                    && (await ApiCalls.CompleteUntilSettledAsync(client, ticket.Id!, cancellationToken)).Status == HttpStatusCode.OK;
            }
        }
        catch (HttpRequestException)
        {
            // A cold call cut off at the deadline (500); the next attempt finds more of the code warm.
            return false;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class LambdaFaultAppHostGroup : ICollectionFixture<LambdaFaultAppHostFixture>
{
    public const string Name = "apphost-lambda-faults";
}

/// <summary>The service as a Lambda function, its DynamoDB calls through a fault proxy, Lambda's retries a second apart.</summary>
public sealed class RedriveAppHostFixture : ProxiedAppHostFixture
{
    protected override bool LambdaMode => true;

    // Lambda waits a minute, then two, between attempts; locally half a second, then one.
    protected override IReadOnlyDictionary<string, string> LambdaEnvironment => new Dictionary<string, string>
    {
        ["Lambda__Async__RetryDelaySeconds"] = "0.5",
    };

    public string FailedEventsBucket => Environment["FailedEventsBucketName"];

    /// <summary>
    /// Runs the redrive command (Infra/Deploy/redrive.sh, with the AWS CLI) against the local Lambda service, as an
    /// operator would in AWS; returns its exit code and each invocation's report summed up.
    /// </summary>
    public async Task<RedriveRun> RedriveAsync(CancellationToken cancellationToken)
    {
        var (exitCode, output) = await Repository.RunAsync("env",
            ["AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local", "AWS_EC2_METADATA_DISABLED=true",
             "bash", Repository.PathOf("Infra", "Deploy", "redrive.sh"), "--endpoint-url", App.GetEndpoint("lambda", "http").ToString().TrimEnd('/'), "local", "us-east-1"],
            Repository.Root, cancellationToken);
        var reports = output.Split('\n').Where(line => line.StartsWith('{')).Select(line => JsonNode.Parse(line)!).ToList();
        Assert.True(reports.Count > 0, output);
        return new RedriveRun(exitCode, reports.Sum(r => (int)r["redriven"]!), reports.Sum(r => (int)r["stillFailing"]!), reports.Sum(r => (int)r["unreadable"]!), output);
    }
}

public sealed record RedriveRun(int ExitCode, int Redriven, int StillFailing, int Unreadable, string Output);

[CollectionDefinition(Name)]
public sealed class RedriveAppHostGroup : ICollectionFixture<RedriveAppHostFixture>
{
    public const string Name = "apphost-redrive";
}

/// <summary>The Native AOT bootstrap for this machine, published once for the tests that run it.</summary>
public sealed class PublishedBootstrap : IAsyncLifetime
{
    public string Directory { get; private set; } = string.Empty;

    public async ValueTask InitializeAsync() => Directory = await LambdaBootstrap.PublishedForHostAsync();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>
/// The emulators of an AppHost of its own, run alone after the parallel collections: publishing takes both cores for
/// minutes, which would starve the timing-sensitive tests of other collections.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PublishedBootstrapGroup : ICollectionFixture<AppHostFixture>
{
    public const string Name = "published-bootstrap";
}

/// <summary>The AppHost in Lambda mode running the published Native AOT bootstrap instead of the project.</summary>
public sealed class AotLambdaAppHostFixture : AppHostFixture
{
    private string _bootstrap = string.Empty;

    protected override bool LambdaMode => true;

    protected override string[] Arguments => [.. base.Arguments, $"ImageService:Bootstrap={_bootstrap}"];

    public override async ValueTask InitializeAsync()
    {
        _bootstrap = await LambdaBootstrap.PublishedForHostAsync();
        await base.InitializeAsync();
    }
}

/// <summary>Run alone, after the parallel collections: compiling the bootstrap takes both cores for minutes.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AotLambdaAppHostGroup : ICollectionFixture<AotLambdaAppHostFixture>
{
    public const string Name = "apphost-lambda-aot";
}

/// <summary>The AppHost with the web app behind the local edge at http://localhost:8080, Rekognition behind a fault proxy.</summary>
public sealed class WebAppHostFixture : AppHostFixture
{
    // The site origin is part of the CORS rule, so the edge keeps its configured port here.
    protected override string[] Arguments => ["DcpPublisher:RandomizePorts=false"];

    // One pipeline slot and no queue: files uploaded together meet the bound, so the page's retries are exercised.
    protected override IReadOnlyDictionary<string, string> ServiceEnvironment => new Dictionary<string, string>
    {
        ["Processing__MaxConcurrentPipelines"] = "1",
        ["Processing__MaxQueuedPipelines"] = "0",
        ["AWS_ENDPOINT_URL_REKOGNITION"] = RekognitionProxy.Address.ToString().TrimEnd('/'),
        // Room for a call the proxy delays to be slow without timing out.
        ["Analysis__Timeout"] = (ProxiedAppHostFixture.RekognitionHold * 2).ToString(),
    };

    public static Uri Site { get; } = new("http://localhost:8080/");

    /// <summary>Between the service and the local Rekognition, to make an analysis outlast its upload's answer.</summary>
    public FaultProxy RekognitionProxy { get; private set; } = null!;

    public override async ValueTask InitializeAsync()
    {
        RekognitionProxy = await FaultProxy.StartAsync();
        RekognitionProxy.Hold = ProxiedAppHostFixture.RekognitionHold;
        await base.InitializeAsync();
        var rekognition = App.GetEndpoint("rekognition", "http");
        RekognitionProxy.Target = () => rekognition;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await RekognitionProxy.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

[CollectionDefinition(Name)]
public sealed class WebAppHostGroup : ICollectionFixture<WebAppHostFixture>
{
    public const string Name = "apphost-web";
}
