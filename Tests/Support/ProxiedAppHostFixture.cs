using Aspire.Hosting.Testing;
using ImageAspire.Tests.Support;

namespace ImageAspire.Tests.Support;

/// <summary>The AppHost with the service reaching S3, DynamoDB and Rekognition through fault proxies the tests control.</summary>
public class ProxiedAppHostFixture : AppHostFixture
{
    public FaultProxy S3Proxy { get; private set; } = null!;

    public FaultProxy DynamoDbProxy { get; private set; } = null!;

    /// <summary>Between the service and the local Rekognition; its <see cref="FaultProxy.Hold"/> is shorter than the analysis timeout, so a delayed call is slow, not failed.</summary>
    public FaultProxy RekognitionProxy { get; private set; } = null!;

    protected override IReadOnlyDictionary<string, string> ServiceEnvironment => new Dictionary<string, string>
    {
        ["AWS_ENDPOINT_URL_S3"] = S3Proxy.Address.ToString().TrimEnd('/'),
        ["AWS_ENDPOINT_URL_DYNAMODB"] = DynamoDbProxy.Address.ToString().TrimEnd('/'),
        ["AWS_ENDPOINT_URL_REKOGNITION"] = RekognitionProxy.Address.ToString().TrimEnd('/'),
        // Room for the proxy's held Rekognition call to be slow without timing out.
        ["Analysis__Timeout"] = (RekognitionHold * 2).ToString(),
    };

    /// <summary>How long <see cref="RekognitionProxy"/> holds a call it delays: far longer than storing an upload takes.</summary>
    public static readonly TimeSpan RekognitionHold = TimeSpan.FromSeconds(6);

    public override async ValueTask InitializeAsync()
    {
        S3Proxy = await FaultProxy.StartAsync();
        DynamoDbProxy = await FaultProxy.StartAsync();
        RekognitionProxy = await FaultProxy.StartAsync();
        RekognitionProxy.Hold = RekognitionHold;
        // A held request waits past the SDK's timeout and its one retry, and past the service's store budget.
        S3Proxy.Hold = TimeSpan.FromSeconds(14);
        DynamoDbProxy.Hold = TimeSpan.FromSeconds(14);
        await base.InitializeAsync();
        var s3 = App.GetEndpoint("s3", "http");
        var dynamodb = App.GetEndpoint("dynamodb", "http");
        var rekognition = App.GetEndpoint("rekognition", "http");
        S3Proxy.Target = () => s3;
        DynamoDbProxy.Target = () => dynamodb;
        RekognitionProxy.Target = () => rekognition;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await S3Proxy.DisposeAsync();
        await DynamoDbProxy.DisposeAsync();
        await RekognitionProxy.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
