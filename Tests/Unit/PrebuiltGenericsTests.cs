using ImageAspire.ImageService.Lambda;
using ImageAspire.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace ImageAspire.Tests.Unit;

/// <summary>
/// The Lambda bootstrap's list of generic types compiled ahead of time (ImageService/Lambda/PrebuiltGenerics.rd.xml)
/// covers the service's own options types and loggers: one left out is built by the Native AOT type loader in every
/// cold start (~0.25 ms each), which nothing else would notice.
/// </summary>
public sealed class PrebuiltGenericsTests
{
    // What dependency injection makes of IOptions<T>, IOptionsMonitor<T> (which ValidateOnStart asks for) and the
    // factory both use. UnnamedOptionsManager<T> is internal, hence by name.
    private static readonly string[] OptionsImplementations =
        [typeof(OptionsFactory<>).FullName!, typeof(OptionsMonitor<>).FullName!, "Microsoft.Extensions.Options.UnnamedOptionsManager`1"];

    [Fact]
    public void Every_options_type_and_logger_the_service_registers_in_Lambda_mode_is_compiled_ahead_of_time()
    {
        var listed = PrebuiltGenerics.Listed();
        var service = typeof(LambdaServer).Assembly;
        var expected = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var descriptor in LambdaModeServices())
        {
            if (descriptor.ServiceType is { IsGenericType: true } serviceType
                && serviceType.GetGenericTypeDefinition() is var definition
                && (definition == typeof(IConfigureOptions<>) || definition == typeof(IValidateOptions<>))
                && serviceType.GenericTypeArguments[0].Assembly == service)
            {
                foreach (var implementation in OptionsImplementations)
                {
                    expected.Add(Entry("Microsoft.Extensions.Options", implementation, serviceType.GenericTypeArguments[0]));
                }
            }

            var implementationType = descriptor.IsKeyedService ? descriptor.KeyedImplementationType : descriptor.ImplementationType;
            if (implementationType?.Assembly != service)
            {
                continue;
            }

            foreach (var parameter in implementationType.GetConstructors().SelectMany(c => c.GetParameters()))
            {
                if (parameter.ParameterType is { IsGenericType: true } logger && logger.GetGenericTypeDefinition() == typeof(ILogger<>))
                {
                    expected.Add(Entry("Microsoft.Extensions.Logging.Abstractions", typeof(Logger<>).FullName!, logger.GenericTypeArguments[0]));
                }
            }
        }

        // The registrations this reads are the real ones: the storage options and the Lambda server's logger are among them.
        Assert.Contains(Entry("Microsoft.Extensions.Options", typeof(OptionsMonitor<>).FullName!, typeof(ImageAspire.ImageService.Storage.StorageOptions)), expected);
        Assert.Contains(Entry("Microsoft.Extensions.Logging.Abstractions", typeof(Logger<>).FullName!, typeof(LambdaServer)), expected);
        var missing = expected.Where(e => !listed.Contains(e)).ToList();
        Assert.True(missing.Count == 0, $"not in PrebuiltGenerics.rd.xml:\n{string.Join('\n', missing)}");
    }

    /// <summary>The list's entry for a generic type of one argument: in the Lambda build the service's assembly is named <c>bootstrap</c>.</summary>
    private static string Entry(string assembly, string genericDefinition, Type argument) =>
        PrebuiltGenerics.Entry(assembly, $"{genericDefinition}[[{argument.FullName},{(argument.Assembly == typeof(LambdaServer).Assembly ? "bootstrap" : argument.Assembly.GetName().Name)}]]");

    /// <summary>The service's registrations as the bootstrap makes them (Lambda mode: the Runtime API's address is set).</summary>
    private static IServiceCollection LambdaModeServices()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:9001",
            ["AWS_REGION"] = "us-east-1",
        });
        builder.AddServiceDefaults();
        builder.AddImageServices();
        return builder.Services;
    }
}
