using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ImageAspire.LocalAws.Templates;
using Microsoft.Extensions.DependencyInjection;

namespace ImageAspire.Tests.Unit;

/// <summary>The local service's environment is the template's function environment, not a second copy of it.</summary>
public sealed class FunctionEnvironmentTests
{
    // What the AppHost gives the local service instead of the template's value (AppHost/ImageServiceEnvironment.cs).
    private static readonly string[] ReplacedLocally =
        ["Auth__Issuer", "Media__KeyPairId", "Media__PrivateKeyParameter", "Media__PathKeyParameter", "Telemetry__AwsTracesEndpoint", "OTEL_SERVICE_NAME"];

    [Fact]
    public async Task Every_variable_of_the_template_function_reaches_the_local_service()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["Web:Enabled=false"], cts.Token);
        await using var app = await builder.BuildAsync(cts.Token);
        var service = app.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<ProjectResource>().Single(r => r.Name == "imageservice");
#pragma warning disable CS0618 // publish mode gives the manifest expressions without starting anything
        var environment = await service.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Publish);
#pragma warning restore CS0618

        var variables = TemplateVariables(CloudFormationTemplate.Load(Path.Combine(AppContext.BaseDirectory, "template.yaml")));
        Assert.Contains("Storage__Table", variables);
        foreach (var name in variables.Except(ReplacedLocally))
        {
            Assert.Equal($"{{provisioning.functions.ImageFunction.{name}}}", environment[name]);
        }

        Assert.Equal("{cognito.bindings.http.url}/{provisioning.outputs.UserPoolId}", environment["Auth__Issuer"]);
        Assert.False(environment.ContainsKey("Telemetry__AwsTracesEndpoint"));
        Assert.False(environment.ContainsKey("Media__PrivateKeyParameter"));
        Assert.NotEqual("{provisioning.functions.ImageFunction.OTEL_SERVICE_NAME}", environment.GetValueOrDefault("OTEL_SERVICE_NAME"));
    }

    [Fact]
    public async Task A_variable_added_to_the_template_reaches_the_service_with_no_other_change()
    {
        var folder = Directory.CreateTempSubdirectory("imageaspire-env-");
        try
        {
            var original = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "template.yaml"), TestContext.Current.CancellationToken);
            var marker = "          MALLOC_ARENA_MAX: \"2\"\n";
            Assert.Contains(marker, original, StringComparison.Ordinal);
            var templatePath = Path.Combine(folder.FullName, "template.yaml");
            await File.WriteAllTextAsync(templatePath, original.Replace(marker, marker + "          Feature__NewThing: !Sub \"${AppName}-${Stage}-new\"\n", StringComparison.Ordinal), TestContext.Current.CancellationToken);

            var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
            {
                Args = ["--environment", "Development", $"LocalAws:DataDirectory={folder.FullName}"],
                DisableDashboard = true,
            });
            var aws = builder.AddLocalAws(templatePath, ["http://localhost:8080"]);
            var service = builder.AddExecutable("service", "dotnet", folder.FullName).WithFunctionEnvironment(aws, "ImageFunction");
#pragma warning disable CS0618
            var environment = await service.Resource.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Publish);
#pragma warning restore CS0618

            Assert.Equal("{provisioning.functions.ImageFunction.Feature__NewThing}", environment["Feature__NewThing"]);
            Assert.Contains(service.Resource.Annotations.OfType<WaitAnnotation>(), w => w.Resource.Name == "provisioning" && w.WaitType == WaitType.WaitForCompletion);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_template_output_or_function_variable_in_an_environment_makes_provisioning_a_dependency_of_the_service()
    {
        var folder = Directory.CreateTempSubdirectory("imageaspire-refs-");
        try
        {
            var builder = DistributedApplication.CreateBuilder(new DistributedApplicationOptions
            {
                Args = ["--environment", "Development", $"LocalAws:DataDirectory={folder.FullName}"],
                DisableDashboard = true,
            });
            var aws = builder.AddLocalAws(Path.Combine(AppContext.BaseDirectory, "template.yaml"), ["http://localhost:8080"]);
            // Given the values only: no WaitFor, no WithLocalAws.
            var byOutput = builder.AddExecutable("by-output", "dotnet", folder.FullName).WithEnvironment("POOL", aws.Output("UserPoolId"));
            var byVariable = builder.AddExecutable("by-variable", "dotnet", folder.FullName)
                .WithEnvironment("TABLE", aws.Provisioning.Resource.FunctionVariable("ImageFunction", "Storage__Table"));
            var unrelated = builder.AddExecutable("unrelated", "dotnet", folder.FullName).WithEnvironment("PLAIN", "value");

            foreach (var service in new[] { byOutput, byVariable })
            {
                var dependencies = await service.Resource.GetResourceDependenciesAsync(builder.ExecutionContext, ResourceDependencyDiscoveryMode.DirectOnly, TestContext.Current.CancellationToken);
                Assert.Contains(aws.Provisioning.Resource, dependencies);
            }

            Assert.DoesNotContain(aws.Provisioning.Resource,
                await unrelated.Resource.GetResourceDependenciesAsync(builder.ExecutionContext, ResourceDependencyDiscoveryMode.DirectOnly, TestContext.Current.CancellationToken));
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    private static List<string> TemplateVariables(CloudFormationTemplate template) =>
        [.. template.Resource("AWS::Lambda::Function", "ImageFunction").FunctionVariables.Select(v => v.Key)];
}
