using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace ImageAspire.Tests.Unit;

/// <summary>
/// Containers cannot run here, so the LocalStack backend is checked on the application model: the
/// container, its pinned image, its endpoint, and the service wired to it with the same provisioning.
/// </summary>
public sealed class LocalStackModelTests
{
    [Fact]
    public async Task The_localstack_backend_runs_the_container_and_points_the_service_at_it()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["LocalAws:Backend=LocalStack"], cts.Token);
        await using var app = await builder.BuildAsync(cts.Token);
        var model = app.Services.GetRequiredService<DistributedApplicationModel>();

        var localstack = Assert.Single(model.Resources.OfType<ContainerResource>(), r => r.Name == "localstack");
        var image = Assert.Single(localstack.Annotations.OfType<ContainerImageAnnotation>());
        Assert.Equal("localstack/localstack", image.Image);
        Assert.Equal("4.4.0", image.Tag);
        var endpoint = Assert.Single(localstack.Annotations.OfType<EndpointAnnotation>());
        Assert.Equal(4566, endpoint.TargetPort);
        Assert.Equal("http", endpoint.UriScheme);

        Assert.DoesNotContain(model.Resources, r => r.Name is "s3" or "dynamodb");
        Assert.Contains(model.Resources, r => r.Name == "cognito");

        var service = Assert.Single(model.Resources.OfType<ProjectResource>(), r => r.Name == "imageservice");
        // Publish mode yields the manifest expressions without starting anything. The helper is marked obsolete in
        // favour of ExecutionConfigurationBuilder, which needs a running execution context.
#pragma warning disable CS0618
        var environment = await service.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Publish);
        var containerEnvironment = await localstack.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Publish);
#pragma warning restore CS0618
        // LocalStack checks presigned URLs only when asked to, and only for its "test" key pair.
        Assert.Equal("0", containerEnvironment["S3_SKIP_SIGNATURE_VALIDATION"]);
        Assert.Equal("test", environment["AWS_ACCESS_KEY_ID"]);
        Assert.Equal("test", environment["AWS_SECRET_ACCESS_KEY"]);
        Assert.Equal("{localstack.bindings.http.url}", environment["AWS_ENDPOINT_URL_S3"]);
        Assert.Equal("{localstack.bindings.http.url}", environment["AWS_ENDPOINT_URL_DYNAMODB"]);
        Assert.Equal("{provisioning.functions.ImageFunction.Storage__OriginalsBucket}", environment["Storage__OriginalsBucket"]);
        Assert.Equal("{cognito.bindings.http.url}/{provisioning.outputs.UserPoolId}", environment["Auth__Issuer"]);
        Assert.Equal("us-east-1", environment["AWS_REGION"]);

        var waits = service.Annotations.OfType<WaitAnnotation>().Select(w => w.Resource.Name).ToList();
        Assert.Contains("provisioning", waits);
        var provisioningWaits = model.Resources.Single(r => r.Name == "provisioning").Annotations.OfType<WaitAnnotation>().Select(w => w.Resource.Name);
        Assert.Contains("localstack", provisioningWaits);
    }

    [Fact]
    public async Task The_default_backend_is_the_embedded_emulators()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(cts.Token);
        await using var app = await builder.BuildAsync(cts.Token);
        var model = app.Services.GetRequiredService<DistributedApplicationModel>();

        Assert.Empty(model.Resources.OfType<ContainerResource>());
        foreach (var name in new[] { "s3", "dynamodb", "cognito" })
        {
            var emulator = Assert.Single(model.Resources.OfType<ExecutableResource>(), r => r.Name == name);
            Assert.Contains(emulator.Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name == "npm-ci" && w.WaitType == WaitType.WaitForCompletion);
            Assert.Contains(emulator.Annotations.OfType<HealthCheckAnnotation>(), _ => true);
        }
    }
}
