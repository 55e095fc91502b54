using ImageAspire.LocalAws.Templates;

namespace ImageAspire.Hosting.LocalAws;

/// <summary>
/// A local AWS backend added by <c>AddLocalAws</c>: where S3, DynamoDB and Cognito are, the template they are
/// provisioned from, and the provisioning step that services wait for. Immutable once added.
/// </summary>
public sealed class LocalAwsBackend
{
    /// <summary>The header that carries <see cref="S3EventSecret"/> on the local S3's object events.</summary>
    public const string S3EventSecretHeader = "x-s3-event-secret";

    /// <summary>The one access key s3rver accepts (any secret); the local S3 front checks signatures made with it as the secret too.</summary>
    public const string EmbeddedAccessKeyId = "S3RVER";

    /// <summary>The confirmation code the local Cognito accepts for every sign-up.</summary>
    public const string ConfirmationCode = "123456";

    internal LocalAwsBackend(
        LocalAwsOptions options,
        string dataDirectory,
        string templatePath,
        CloudFormationTemplate template,
        LocalAwsEmulators emulators,
        IResourceBuilder<ProvisioningResource> provisioning)
    {
        Options = options;
        DataDirectory = dataDirectory;
        TemplatePath = templatePath;
        Template = template;
        S3Endpoint = emulators.S3Endpoint;
        DynamoDbEndpoint = emulators.DynamoDbEndpoint;
        CognitoEndpoint = emulators.CognitoEndpoint;
        RekognitionEndpoint = emulators.RekognitionEndpoint;
        S3Host = emulators.S3Host;
        S3EventSecret = emulators.S3EventSecret;
        Provisioning = provisioning;
        MediaKeyPair = CloudFrontKeyPair.Create();
        _mediaPathKey = new Lazy<string>(() => LoadOrCreatePathKey(dataDirectory));
    }

    private readonly Lazy<string> _mediaPathKey;

    /// <summary>The emulators are starting (not only a model being built or published): files may be written.</summary>
    internal bool Started { get; set; }

    /// <summary>
    /// The key of the service's opaque media keys (base64, 32 bytes), as deploy.sh makes one per stack. Kept in the data
    /// directory, so stored renditions keep mapping to their owners as long as the data is kept; read or made on first use.
    /// </summary>
    public string MediaPathKey => _mediaPathKey.Value;

    private static string LoadOrCreatePathKey(string dataDirectory)
    {
        var file = Path.Combine(dataDirectory, "media-path-key");
        if (File.Exists(file))
        {
            return File.ReadAllText(file).Trim();
        }

        Directory.CreateDirectory(dataDirectory);
        var key = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        File.WriteAllText(file, key);
        return key;
    }

    /// <summary>
    /// The key pair of the distribution's trusted key group, made for each run as deploy.sh makes one per stack: the
    /// service signs media access with the private key, the local edge checks it with the public key.
    /// </summary>
    public CloudFrontKeyPair MediaKeyPair { get; }

    /// <summary>The options the backend was built with.</summary>
    public LocalAwsOptions Options { get; }

    /// <summary>The folder holding the emulators' data for this run.</summary>
    public string DataDirectory { get; }

    /// <summary>The template everything local is provisioned from.</summary>
    public string TemplatePath { get; }

    /// <summary>The template, read once when the model is built.</summary>
    public CloudFormationTemplate Template { get; }

    /// <summary>The S3 endpoint (the emulator or LocalStack).</summary>
    public EndpointReference S3Endpoint { get; }

    /// <summary>The DynamoDB endpoint (the emulator or LocalStack).</summary>
    public EndpointReference DynamoDbEndpoint { get; }

    /// <summary>The Cognito user pools endpoint (always the emulator: Cognito is a paid LocalStack feature).</summary>
    public EndpointReference CognitoEndpoint { get; }

    /// <summary>The local Rekognition (always the Node emulator: LocalStack has no Rekognition).</summary>
    public EndpointReference RekognitionEndpoint { get; }

    /// <summary>The resource whose process serves S3 (it takes the webhook address).</summary>
    public IResourceBuilder<IResourceWithEnvironment> S3Host { get; }

    /// <summary>The shared secret the local S3 sends with object events in <see cref="S3EventSecretHeader"/>.</summary>
    public string S3EventSecret { get; }

    /// <summary>The step that applies the template to the backend; services wait for it to complete.</summary>
    public IResourceBuilder<ProvisioningResource> Provisioning { get; }

    /// <summary>
    /// The local access key: s3rver knows only its own key pair, and LocalStack checks presigned URLs only for
    /// its <c>test</c> pair, so each backend gets the one it verifies signatures with.
    /// </summary>
    public string AccessKeyId => AccessKeyIdFor(Options.Backend);

    internal static string AccessKeyIdFor(LocalAwsBackendKind backend) => backend == LocalAwsBackendKind.LocalStack ? "test" : EmbeddedAccessKeyId;

    /// <summary>The secret of <see cref="AccessKeyId"/>.</summary>
    public string SecretAccessKey => AccessKeyId;

    /// <summary>The user pool's issuer, <c>&lt;cognito address&gt;/&lt;pool id&gt;</c> as in the tokens, given the template output naming the pool.</summary>
    public ReferenceExpression Issuer(string userPoolIdOutput) =>
        ReferenceExpression.Create($"{CognitoEndpoint}/{Output(userPoolIdOutput)}");

    /// <summary>A template output, resolved once provisioning has run (for environment variables).</summary>
    public ProvisionedOutputReference Output(string outputName) => Provisioning.Resource.Output(outputName);

    /// <summary>A bucket's name as the template gives it, known before anything starts.</summary>
    public string BucketName(string logicalId) =>
        TemplateFunctions.Resolve(Template.Resources.Single(r => r.LogicalId == logicalId).Properties["BucketName"], TemplateContext())?.ToString()
        ?? throw new TemplateException($"The bucket {logicalId} has no BucketName.");

    /// <summary>The buckets whose template definition sends object notifications (to the function, in AWS).</summary>
    public IReadOnlyList<string> NotifyingBucketNames() =>
        [.. Template.ResourcesOfType("AWS::S3::Bucket").Where(b => b.Properties["NotificationConfiguration"] is not null).Select(b => BucketName(b.LogicalId))];

    internal TemplateContext TemplateContext() => new(Template, Options.TemplateParameters, Options.AccountId, Options.Region);
}

/// <summary>A CloudFront key pair: the public key's id (as CloudFront assigns one) and both halves, PEM.</summary>
public sealed record CloudFrontKeyPair(string KeyPairId, string PrivateKeyPem, string PublicKeyPem)
{
    /// <summary>A new RSA 2048 key pair with a random key id, as a local run makes one for signed media access.</summary>
    public static CloudFrontKeyPair Create()
    {
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var id = "K" + Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));
        return new CloudFrontKeyPair(id, rsa.ExportPkcs8PrivateKeyPem(), rsa.ExportSubjectPublicKeyInfoPem());
    }
}
