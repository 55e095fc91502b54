namespace ImageAspire.Hosting.LocalAws;

/// <summary>The local AWS backends <c>AddLocalAws</c> can run.</summary>
public enum LocalAwsBackendKind
{
    /// <summary>S3, DynamoDB and Cognito emulators as Node processes (the default; no Docker).</summary>
    Embedded,

    /// <summary>The LocalStack container for S3 and DynamoDB (needs Docker); Cognito stays the Node emulator.</summary>
    LocalStack,
}

/// <summary>The <c>LocalAws</c> configuration section.</summary>
public sealed class LocalAwsOptions
{
    /// <summary><c>embedded</c> (default) or <c>localstack</c>.</summary>
    public LocalAwsBackendKind Backend { get; set; } = LocalAwsBackendKind.Embedded;

    /// <summary>Keep emulator data in <c>&lt;AppHost&gt;/.data</c> between runs instead of a fresh folder per run.</summary>
    public bool KeepData { get; set; }

    /// <summary>Overrides the data folder.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>The pinned LocalStack image tag (the last free-tier line without an auth token).</summary>
    public string LocalStackImageTag { get; set; } = "4.4.0";

    /// <summary>The AWS region the local backend pretends to be in.</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>The account id the template's <c>AWS::AccountId</c> resolves to locally.</summary>
    public string AccountId { get; set; } = "000000000000";

    /// <summary>The <c>Stage</c> parameter of the template for local resources.</summary>
    public string Stage { get; set; } = "local";

    /// <summary>The template's parameters for the local stack.</summary>
    public IReadOnlyDictionary<string, string> TemplateParameters => new Dictionary<string, string> { ["Stage"] = Stage };
}
