using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using ImageAspire.ServiceDefaults;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Adds the common Aspire services: service discovery, resilience, health checks and OpenTelemetry.
/// </summary>
public static class Extensions
{
    private const string HealthEndpointPath = "/health";
    private const string AlivenessEndpointPath = "/alive";

    /// <summary>Names of the activity sources and meters of ImageAspire's own code, exported with the rest.</summary>
    public const string TelemetrySourceName = "ImageAspire";

    /// <summary>Adds service discovery, resilient HTTP clients, health checks and OpenTelemetry.</summary>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry();
        builder.AddDefaultHealthChecks();
        builder.Services.AddServiceDiscovery();
        builder.Services.ConfigureHttpClientDefaults(http =>
        {
            http.AddStandardResilienceHandler();
            http.AddServiceDiscovery();
        });
        return builder;
    }

    /// <summary>Configures OpenTelemetry logging, tracing and metrics, exported over OTLP when an endpoint is configured.</summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(TelemetrySourceName))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(TelemetrySourceName)
                .AddAspNetCoreInstrumentation(options =>
                    // Health probes would drown the interesting traces.
                    options.Filter = context =>
                        !context.Request.Path.StartsWithSegments(HealthEndpointPath)
                        && !context.Request.Path.StartsWithSegments(AlivenessEndpointPath))
                .AddHttpClientInstrumentation());

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }
        else if (builder.Configuration[AwsTracesEndpointKey] is { Length: > 0 } awsTraces)
        {
            // In AWS: the same spans, through the same OTLP exporter, to X-Ray's OTLP endpoint; only the endpoint and
            // the SigV4 signing with the function's role differ from the local dashboard.
            var region = builder.Configuration["AWS_REGION"] ?? throw new InvalidOperationException($"AWS_REGION is required with {AwsTracesEndpointKey}.");
            builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddOtlpExporter(otlp => ConfigureAwsTraces(otlp, new Uri(awsTraces), region)));
        }

        if (builder.Configuration[EmfNamespaceKey] is { Length: > 0 } metricNamespace)
        {
            // In AWS: ImageAspire's own metrics as EMF lines in the function's log, exported when the reader is flushed
            // (after every Lambda invocation), each flush holding what was recorded since the last (delta).
            var service = builder.Configuration["OTEL_SERVICE_NAME"] ?? builder.Environment.ApplicationName;
            var reader = new EmfMetricReader(new EmfMetricExporter(Console.Out, metricNamespace, service, new HashSet<string> { TelemetrySourceName }, TimeProvider.System));
            builder.Services.AddSingleton(reader);
            builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddReader(reader));
        }

        return builder;
    }

    /// <summary>The configuration key of the CloudWatch namespace of the service's metrics as EMF log lines (none: no EMF).</summary>
    public const string EmfNamespaceKey = "Telemetry:EmfNamespace";

    /// <summary>The configuration key of X-Ray's OTLP traces endpoint (<c>https://xray.&lt;region&gt;.amazonaws.com/v1/traces</c>).</summary>
    public const string AwsTracesEndpointKey = "Telemetry:AwsTracesEndpoint";

    /// <summary>
    /// The OTLP exporter's settings for X-Ray: OTLP/HTTP protobuf to the endpoint, every request SigV4-signed for
    /// <c>xray</c> with <paramref name="credentials"/> (the function's, from the environment, by default).
    /// </summary>
    public static void ConfigureAwsTraces(OtlpExporterOptions otlp, Uri endpoint, string region, Func<AwsSigningCredentials?>? credentials = null)
    {
        ArgumentNullException.ThrowIfNull(otlp);
        otlp.Endpoint = endpoint;
        otlp.Protocol = OtlpExportProtocol.HttpProtobuf;
        otlp.HttpClientFactory = () => new HttpClient(new SigV4SigningHandler(region, "xray", credentials ?? AwsSigningCredentials.FromEnvironment, TimeProvider.System)
        {
            InnerHandler = new SocketsHttpHandler(),
        })
        {
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    /// <summary>Adds a liveness check tagged <c>live</c>.</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>Maps <c>/health</c> (every check) and <c>/alive</c> (liveness checks only).</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        // Probes carry no token; an app-wide fallback authorization policy must not turn them away.
        app.MapHealthChecks(HealthEndpointPath).AllowAnonymous();
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains("live"),
        }).AllowAnonymous();
        return app;
    }
}
