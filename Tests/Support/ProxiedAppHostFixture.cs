using Aspire.Hosting.Testing;
using ImageAspire.Tests.Support;

namespace ImageAspire.Tests.Support;

/// <summary>The AppHost with the service reaching S3 and DynamoDB through fault proxies the tests control.</summary>
public class ProxiedAppHostFixture : AppHostFixture
{
    public FaultProxy S3Proxy { get; private set; } = null!;

    public FaultProxy DynamoDbProxy { get; private set; } = null!;

    protected override IReadOnlyDictionary<string, string> ServiceEnvironment => new Dictionary<string, string>
    {
        ["AWS_ENDPOINT_URL_S3"] = S3Proxy.Address.ToString().TrimEnd('/'),
        ["AWS_ENDPOINT_URL_DYNAMODB"] = DynamoDbProxy.Address.ToString().TrimEnd('/'),
    };

    public override async ValueTask InitializeAsync()
    {
        S3Proxy = await FaultProxy.StartAsync();
        DynamoDbProxy = await FaultProxy.StartAsync();
        // A held request waits past the SDK's timeout and its one retry, and past the service's store budget.
        S3Proxy.Hold = TimeSpan.FromSeconds(14);
        DynamoDbProxy.Hold = TimeSpan.FromSeconds(14);
        await base.InitializeAsync();
        var s3 = App.GetEndpoint("s3", "http");
        var dynamodb = App.GetEndpoint("dynamodb", "http");
        S3Proxy.Target = () => s3;
        DynamoDbProxy.Target = () => dynamodb;
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await S3Proxy.DisposeAsync();
        await DynamoDbProxy.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}
