using Amazon.DynamoDBv2;
using Amazon.Runtime;
using Amazon.S3;
using ImageAspire.ImageService.Analysis;
using ImageAspire.ImageService.Extensions;
using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Media;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using ImageAspire.ImageService.Telemetry;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.Hosting;

public static class ImageServiceExtensions
{
    /// <summary>Everything the image service needs: options, AWS clients, stores, the pipeline, auth, problem details.</summary>
    public static IHostApplicationBuilder AddImageServices(this IHostApplicationBuilder builder)
    {
        builder.AddImageServiceTelemetry();
        var services = builder.Services;
        services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, ImageAspire.ImageService.ImageServiceJsonContext.Default));
        services.AddProblemDetails();
        services.AddExceptionHandler<ApiExceptionHandler>();
        services.AddOpenApi();
        services.AddCognitoAuthentication();
        services.AddPerUserRateLimiting();
        services.AddSingleton(TimeProvider.System);

        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName)
            .ValidateWith(new StorageOptionsValidator()).ValidateWith(new StorageDeadlinesValidator()).ValidateOnStart();
        services.AddOptions<ProcessingOptions>().BindConfiguration(ProcessingOptions.SectionName).ValidateWith(new ProcessingOptionsValidator()).ValidateOnStart();

        // Multipart uploads: room for the configured number of files at the configured size, nothing more.
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ProcessingOptions>>((kestrel, processing) =>
            kestrel.Limits.MaxRequestBodySize = MaxRequestBytes(processing.Value));
        services.AddOptions<FormOptions>().Configure<IOptions<ProcessingOptions>>((form, processing) =>
        {
            form.MultipartBodyLengthLimit = MaxRequestBytes(processing.Value);
            form.ValueCountLimit = 64;
            form.MultipartHeadersCountLimit = 16;
            form.MultipartHeadersLengthLimit = 8 * 1024;
        });

        services.AddSingleton<IAmazonS3>(sp => CreateS3Client(builder.Configuration, sp.GetRequiredService<IOptions<StorageOptions>>().Value.Deadlines));
        services.AddSingleton<IAmazonDynamoDB>(sp => CreateDynamoDbClient(builder.Configuration, sp.GetRequiredService<IOptions<StorageOptions>>().Value.Deadlines));
        services.AddSingleton<IObjectStore, S3ObjectStore>();
        services.AddSingleton<IImageMetadataStore, DynamoDbImageMetadataStore>();
        services.AddSingleton<ISettingsStore, DynamoDbSettingsStore>();
        services.AddSingleton<ILabelIndex, DynamoDbLabelIndex>();
        services.AddSingleton<IImagePipeline>(sp =>
        {
            // With the pipeline, not at start: attaching loads libvips, which a cold start should not wait for.
            LibvipsLog.Attach(sp.GetRequiredService<ILoggerFactory>());
            return new NetVipsImagePipeline(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<ProcessingOptions>>());
        });
        services.AddSingleton<PipelineGate>();
        services.AddSweeper(builder.Configuration);
        services.AddImageAnalysis(builder.Configuration);
        services.AddSingleton<ImageProcessor>();
        services.AddSingleton<SquareReframer>();
        services.AddSingleton<CommitResolver>();
        services.AddSingleton<ImageRemover>();
        services.AddSingleton<DirectUploads>();
        services.AddSingleton<UploadTickets>();
        services.AddSingleton<PresignedUploads>();
        services.AddSingleton<ImageLibrary>();
        services.AddSingleton<OrphanSweeper>();

        services.AddOptions<ImageAspire.LocalAws.S3EventWebhookOptions>().BindConfiguration(ImageAspire.LocalAws.S3EventWebhookOptions.SectionName)
            .ValidateWith(new ImageAspire.LocalAws.S3EventWebhookOptionsValidator()).ValidateOnStart();
        services.AddSingleton<IObjectCreatedHandler, PresignedUploadObjectCreatedHandler>();
        services.AddSingleton<S3EventProcessor>();
        services.AddSingleton<FailedEventRedrive>();
        services.AddOptions<MediaOptions>().BindConfiguration(MediaOptions.SectionName).ValidateWith(new MediaOptionsValidator()).ValidateOnStart();
        services.AddSingleton<MediaSecrets>();
        services.AddSingleton<MediaAccess>();
        builder.AddLambdaHosting();
        return builder;
    }

    /// <summary>
    /// Rekognition behind <see cref="IImageAnalyzer"/>: the endpoint from
    /// <c>AWS_ENDPOINT_URL_REKOGNITION</c> (locally) or the region's, each call signed with the AWS SDK's SigV4 handler
    /// and the SDK's own credentials (in Lambda the role's session credentials, refreshed as they rotate).
    /// </summary>
    public static IServiceCollection AddImageAnalysis(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AnalysisOptions>().BindConfiguration(AnalysisOptions.SectionName)
            .ValidateWith(new AnalysisOptionsValidator()).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AnalysisOptions>, AnalysisDeadlineValidator>();
        services.AddSingleton(sp =>
        {
            var region = configuration["AWS_REGION"] ?? "us-east-1";
            var endpoint = configuration["AWS_ENDPOINT_URL_REKOGNITION"] is { Length: > 0 } local ? local : $"https://rekognition.{region}.amazonaws.com";
            var signing = new Amazon.Runtime.Signing.SigV4SigningHandler(
                Amazon.Runtime.Credentials.DefaultAWSCredentialsIdentityResolver.GetCredentials(), Amazon.RegionEndpoint.GetBySystemName(region), "rekognition",
                new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
            var timeout = sp.GetRequiredService<IOptions<AnalysisOptions>>().Value.Timeout;
            return new RekognitionClient(new HttpClient(signing) { BaseAddress = new Uri(endpoint), Timeout = timeout + TimeSpan.FromSeconds(1) });
        });
        services.AddSingleton<IImageAnalyzer, RekognitionImageAnalyzer>();
        services.AddSingleton<ImageAnalyses>();
        services.AddSingleton<AnalysisFollowUps>();
        services.AddSingleton<AnalysesInFlight>();
        services.AddHostedService(sp => sp.GetRequiredService<AnalysesInFlight>());
        return services;
    }

    /// <summary>The sweeper's options and, in web mode unless switched off, its background service; none in Lambda, where the schedule sweeps.</summary>
    public static IServiceCollection AddSweeper(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<SweeperOptions>().BindConfiguration(SweeperOptions.SectionName).ValidateWith(new SweeperOptionsValidator()).ValidateOnStart()
            .PostConfigure(options => options.Enabled &= !configuration.IsLambda());
        if (!configuration.IsLambda() && configuration.GetValue($"{SweeperOptions.SectionName}:{nameof(SweeperOptions.Enabled)}", true))
        {
            services.AddHostedService<SweeperService>();
        }

        return services;
    }

    private static long MaxRequestBytes(ProcessingOptions processing) =>
        (processing.MaxUploadBytes * processing.MaxFilesPerRequest) + (1024 * 1024);

    // Endpoints come from the standard AWS_ENDPOINT_URL_<SERVICE> variables (set locally by the AppHost);
    // credentials and region from the default chain (environment, Lambda role). Short timeouts and few retries:
    // an unavailable dependency should turn into a quick 503, not a hung request.
    private static AmazonS3Client CreateS3Client(IConfiguration configuration, StorageDeadlines deadlines)
    {
        var config = new AmazonS3Config { Timeout = deadlines.S3Timeout, MaxErrorRetry = 1 };
        if (configuration["AWS_ENDPOINT_URL_S3"] is { Length: > 0 } endpoint)
        {
            config.ServiceURL = endpoint;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = configuration["AWS_REGION"] ?? "us-east-1";
        }

        return new AmazonS3Client(config);
    }

    private static AmazonDynamoDBClient CreateDynamoDbClient(IConfiguration configuration, StorageDeadlines deadlines)
    {
        var config = new AmazonDynamoDBConfig { Timeout = deadlines.DynamoDbTimeout, MaxErrorRetry = 1 };
        if (configuration["AWS_ENDPOINT_URL_DYNAMODB"] is { Length: > 0 } endpoint)
        {
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = configuration["AWS_REGION"] ?? "us-east-1";
        }

        return new AmazonDynamoDBClient(config);
    }
}
