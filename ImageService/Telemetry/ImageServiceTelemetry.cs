using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;
using Amazon.Runtime.Signing;
using ImageAspire.ImageService.Processing;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace ImageAspire.ImageService.Telemetry;

/// <summary>
/// The service's own telemetry on top of the service defaults: its activity source and meter, and in AWS the two
/// exporters Lambda needs (spans to X-Ray's OTLP endpoint, signed with the function's role; metrics as EMF log lines).
/// Locally neither AWS setting is present and everything goes to the dashboard over OTLP, as ServiceDefaults sets up.
/// </summary>
public static class ImageServiceTelemetry
{
    /// <summary>The configuration key of the CloudWatch namespace of the service's metrics as EMF log lines (none: no EMF).</summary>
    public const string EmfNamespaceKey = "Telemetry:EmfNamespace";

    /// <summary>The configuration key of X-Ray's OTLP traces endpoint (<c>https://xray.&lt;region&gt;.amazonaws.com/v1/traces</c>).</summary>
    public const string AwsTracesEndpointKey = "Telemetry:AwsTracesEndpoint";

    public static IHostApplicationBuilder AddImageServiceTelemetry(this IHostApplicationBuilder builder)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddSource(ImageTelemetry.Name))
            .WithMetrics(metrics => metrics.AddMeter(ImageTelemetry.Name));

        if (string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
            && builder.Configuration[AwsTracesEndpointKey] is { Length: > 0 } awsTraces)
        {
            // The same spans, through the same OTLP exporter as locally; only the endpoint and the signing differ.
            var region = builder.Configuration["AWS_REGION"] ?? throw new InvalidOperationException($"AWS_REGION is required with {AwsTracesEndpointKey}.");
            telemetry.WithTracing(tracing => tracing.AddOtlpExporter(otlp => ConfigureAwsTraces(otlp, new Uri(awsTraces), RegionEndpoint.GetBySystemName(region))));
        }

        if (builder.Configuration[EmfNamespaceKey] is { Length: > 0 } metricNamespace)
        {
            // Exported when the reader is collected (after every Lambda invocation), each collection holding what was
            // recorded since the last (delta).
            var service = builder.Configuration["OTEL_SERVICE_NAME"] ?? builder.Environment.ApplicationName;
            var reader = new EmfMetricReader(new EmfMetricExporter(Console.Out, metricNamespace, service, new HashSet<string> { ImageTelemetry.Name }, TimeProvider.System));
            builder.Services.AddSingleton(reader);
            telemetry.WithMetrics(metrics => metrics.AddReader(reader));
        }

        return builder;
    }

    /// <summary>
    /// The OTLP exporter's settings for X-Ray: OTLP/HTTP protobuf to <paramref name="endpoint"/>, every request signed
    /// with SigV4 for <c>xray</c> by the AWS SDK's signer. The credentials default to the SDK's own resolution (in
    /// Lambda the role's session credentials from the environment), resolved again on every export.
    /// </summary>
    public static void ConfigureAwsTraces(OtlpExporterOptions otlp, Uri endpoint, RegionEndpoint region, AWSCredentials? credentials = null)
    {
        ArgumentNullException.ThrowIfNull(otlp);
        otlp.Endpoint = endpoint;
        otlp.Protocol = OtlpExportProtocol.HttpProtobuf;
        otlp.HttpClientFactory = () => new HttpClient(new SigV4SigningHandler(
            credentials ?? DefaultAWSCredentialsIdentityResolver.GetCredentials(), region, "xray", new SocketsHttpHandler { AllowAutoRedirect = false }))
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
    }
}
