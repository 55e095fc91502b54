using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Amazon.DynamoDBv2.Model;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Amazon.S3.Transfer;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using ImageAspire.AppHost;
using ImageAspire.Hosting.LocalAws;
using ImageAspire.LocalAws.Templates;
using ImageAspire.Tests.Support;
using static ImageAspire.Tests.Support.TestTimeout;

namespace ImageAspire.Tests.Integration;

[Collection(AppHostGroup.Name)]
public sealed class LocalBackendTests(AppHostFixture fixture)
{

    [Fact]
    public async Task Buckets_and_table_exist_as_the_template_defines_them()
    {
        var template = CloudFormationTemplate.Load(Path.Combine(AppContext.BaseDirectory, "template.yaml"));
        var context = new TemplateContext(template, new Dictionary<string, string> { ["Stage"] = "local" });

        var buckets = (await fixture.S3.ListBucketsAsync(Timeout(60))).Buckets.Select(b => b.BucketName).ToHashSet();
        var expectedBuckets = template.ResourcesOfType("AWS::S3::Bucket")
            .Select(b => TemplateFunctions.Resolve(b.Properties["BucketName"], context)!.ToString()).ToList();
        Assert.Equal(4, expectedBuckets.Count);
        Assert.All(expectedBuckets, name => Assert.Contains(name, buckets));

        // CORS as the template's rule, with the local site's origin instead of the CloudFront domain.
        var cors = await fixture.S3.GetCORSConfigurationAsync(fixture.Environment["OriginalsBucketName"], Timeout(60));
        var rule = Assert.Single(cors.Configuration.Rules);
        var templateRule = template.Resources.Single(r => r.LogicalId == "OriginalsBucket").Properties["CorsConfiguration"]!["CorsRules"]![0]!;
        Assert.Equal(((JsonArray)templateRule["AllowedMethods"]!).Select(m => (string?)m), rule.AllowedMethods);
        Assert.Equal(((JsonArray)templateRule["AllowedHeaders"]!).Select(m => (string?)m), rule.AllowedHeaders);
        Assert.Equal(["http://localhost:8080"], rule.AllowedOrigins);

        var tableDefinition = template.ResourcesOfType("AWS::DynamoDB::Table").Single();
        var tableName = TemplateFunctions.Resolve(tableDefinition.Properties["TableName"], context)!.ToString();
        Assert.Equal(fixture.Environment["ImagesTableName"], tableName);
        var table = (await fixture.DynamoDb.DescribeTableAsync(tableName, Timeout(60))).Table;
        var expectedKeys = ((JsonArray)tableDefinition.Properties["KeySchema"]!)
            .Select(k => $"{k!["AttributeName"]}:{k["KeyType"]}").ToList();
        Assert.Equal(expectedKeys, table.KeySchema.Select(k => $"{k.AttributeName}:{k.KeyType.Value}").ToList());
        Assert.Equal("PAY_PER_REQUEST", table.BillingModeSummary?.BillingMode?.Value ?? "PAY_PER_REQUEST");
        Assert.Equal(
            (tableDefinition.Properties["GlobalSecondaryIndexes"] as JsonArray ?? []).Select(i => (string)i!["IndexName"]!).Order().ToList(),
            (table.GlobalSecondaryIndexes ?? []).Select(i => i.IndexName).Order().ToList());
    }

    [Fact]
    public async Task The_user_pool_and_its_client_carry_the_templates_settings()
    {
        var template = CloudFormationTemplate.Load(Path.Combine(AppContext.BaseDirectory, "template.yaml"));
        var poolId = fixture.Environment["UserPoolId"];
        var pool = await fixture.Cognito.SendAsync("DescribeUserPool", new JsonObject { ["UserPoolId"] = poolId }, Timeout(60));
        var client = await fixture.Cognito.SendAsync("DescribeUserPoolClient",
            new JsonObject { ["UserPoolId"] = poolId, ["ClientId"] = fixture.ClientId }, Timeout(60));

        // Every setting the coverage says the local run reads (the password policy, the auth flows, the token lifetimes…)
        // is what cognito-local describes; cognito-local may add defaults of its own beside them.
        static bool Includes(JsonNode? expected, JsonNode? actual) => (expected, actual) switch
        {
            (JsonObject e, JsonObject a) => e.All(p => Includes(p.Value, a[p.Key])),
            (JsonArray e, JsonArray a) => e.Count == a.Count && e.Zip(a).All(p => Includes(p.First, p.Second)),
            _ => JsonNode.DeepEquals(expected, actual),
        };
        var checkedSettings = 0;
        foreach (var (type, described) in new[] { ("AWS::Cognito::UserPool", pool["UserPool"]), ("AWS::Cognito::UserPoolClient", client["UserPoolClient"]) })
        {
            var properties = Assert.Single(template.ResourcesOfType(type)).Properties;
            foreach (var name in TemplateCoverage.PropertiesRead(type).Where(n => properties[n] is not null && n is not ("UserPoolName" or "ClientName" or "UserPoolId")))
            {
                // Cognito describes a pool's schema as its attributes, and a client's secret rather than whether it has one.
                var (expected, actual) = name switch
                {
                    "GenerateSecret" => (properties[name], JsonValue.Create(described?["ClientSecret"] is not null)),
                    "Schema" => (properties[name], described?["SchemaAttributes"]),
                    _ => (properties[name], described?[name]),
                };
                Assert.True(Includes(expected, actual), $"{type} {name}: the template says {expected?.ToJsonString()}, cognito-local has {actual?.ToJsonString()}");
                checkedSettings++;
            }
        }

        Assert.True(checkedSettings >= 10, $"only {checkedSettings} settings compared");
    }

    [Fact]
    public async Task A_kept_user_pool_takes_a_changed_templates_settings_as_a_stack_update_would()
    {
        var name = $"kept-{Guid.NewGuid():N}";
        CloudFormationTemplate Template(string usernameAttribute, int minimumLength, int idTokenMinutes, string groupDescription) => CloudFormationTemplate.Parse($$"""
            Resources:
              Pool:
                Type: AWS::Cognito::UserPool
                Properties:
                  UserPoolName: {{name}}
                  UsernameAttributes: [{{usernameAttribute}}]
                  Policies: { PasswordPolicy: { MinimumLength: {{minimumLength}}, RequireSymbols: false } }
              Client:
                Type: AWS::Cognito::UserPoolClient
                Properties:
                  UserPoolId: !Ref Pool
                  ClientName: {{name}}-web
                  GenerateSecret: false
                  ExplicitAuthFlows: [ALLOW_USER_PASSWORD_AUTH, ALLOW_REFRESH_TOKEN_AUTH]
                  IdTokenValidity: {{idTokenMinutes}}
                  TokenValidityUnits: { IdToken: minutes }
              Editors:
                Type: AWS::Cognito::UserPoolGroup
                Properties: { UserPoolId: !Ref Pool, GroupName: editors, Description: {{groupDescription}} }
            Outputs:
              PoolId: { Value: !Ref Pool }
              ClientId: { Value: !Ref Client }
            """);
        var provisioner = new LocalAwsProvisioner(fixture.S3, fixture.DynamoDb, fixture.Cognito, NullLogger.Instance);
        async Task<ProvisionedEnvironment> ProvisionAsync(CloudFormationTemplate template) =>
            await provisioner.ProvisionAsync(template, new TemplateContext(template), [], [], Timeout(60));

        var created = await ProvisionAsync(Template("email", 8, 60, "Edit"));
        var poolId = created["PoolId"];
        try
        {
            // The next run of a kept data folder, with a template whose settings changed.
            var updated = await ProvisionAsync(Template("phone_number", 12, 5, "Edit and publish"));

            Assert.Equal((poolId, created["ClientId"]), (updated["PoolId"], updated["ClientId"]));
            var pool = (await fixture.Cognito.SendAsync("DescribeUserPool", new JsonObject { ["UserPoolId"] = poolId }, Timeout(60)))["UserPool"]!;
            Assert.Equal(12, (int)pool["Policies"]!["PasswordPolicy"]!["MinimumLength"]!);
            // Fixed at creation: CloudFormation would replace the pool (and lose its users); locally it stays as created.
            Assert.Equal("email", (string?)Assert.Single(pool["UsernameAttributes"] as JsonArray ?? []));
            var client = (await fixture.Cognito.SendAsync("DescribeUserPoolClient",
                new JsonObject { ["UserPoolId"] = poolId, ["ClientId"] = created["ClientId"] }, Timeout(60)))["UserPoolClient"]!;
            Assert.Equal(5, (int)client["IdTokenValidity"]!);
            Assert.Equal(["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], (client["ExplicitAuthFlows"] as JsonArray ?? []).Select(f => (string?)f));
            var group = (await fixture.Cognito.SendAsync("GetGroup", new JsonObject { ["UserPoolId"] = poolId, ["GroupName"] = "editors" }, Timeout(60)))["Group"]!;
            Assert.Equal("Edit and publish", (string?)group["Description"]);
        }
        finally
        {
            await fixture.Cognito.SendAsync("DeleteUserPool", new JsonObject { ["UserPoolId"] = poolId }, Timeout(60));
        }
    }

    [Fact]
    public async Task The_service_runs_with_the_template_function_environment_resolved_against_the_local_stack()
    {
        var model = fixture.App.Services.GetRequiredService<DistributedApplicationModel>();
        var service = model.Resources.OfType<IResourceWithEnvironment>().Single(r => r.Name == "imageservice");
#pragma warning disable CS0618 // the replacement (ExecutionConfigurationBuilder) needs far more ceremony for a few values
        var environment = await service.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Run);
#pragma warning restore CS0618

        Assert.Equal(fixture.Environment["ImagesTableName"], environment["Storage__Table"]);
        Assert.Equal(fixture.Environment["OriginalsBucketName"], environment["Storage__OriginalsBucket"]);
        Assert.Equal(fixture.Environment["FailedEventsBucketName"], environment["Storage__FailedEventsBucket"]);
        Assert.Equal(fixture.Environment["UserPoolClientId"], environment["Auth__ClientId"]);
        Assert.Equal(fixture.Environment["AdminsGroupName"], environment["Auth__AdminsGroup"]);
        Assert.Equal("2", environment["MALLOC_ARENA_MAX"]);
        Assert.Equal(fixture.Environment.FunctionVariables["ImageFunction"]["Telemetry__EmfNamespace"], environment["Telemetry__EmfNamespace"]);
        Assert.False(environment.ContainsKey("Telemetry__AwsTracesEndpoint"));
    }

    [Fact]
    public async Task A_fresh_stack_answers_the_default_settings_as_in_AWS()
    {
        // Nothing seeds a settings item, locally or in AWS: the service's defaults are the one definition.
        using var client = fixture.CreateServiceClient((await fixture.NewUserAsync(Timeout(60))).AccessToken);

        var settings = (await client.GetFromJsonAsync<JsonObject>("/api/settings", Timeout(60)))!;

        Assert.Equal(["thumb", "medium", "large"], ((JsonArray)settings["renditions"]!).Select(r => (string?)r!["name"]));
    }

    [Fact]
    public async Task A_signed_up_user_gets_a_token_that_the_service_accepts()
    {
        var tokens = await fixture.NewUserAsync(Timeout(60));
        using var client = fixture.CreateServiceClient(tokens.AccessToken);

        var me = await client.GetFromJsonAsync<JsonObject>("/api/me", Timeout(60));

        var sub = CognitoUsers.ClaimsOf(tokens.AccessToken)["sub"]!.ToString();
        Assert.False(string.IsNullOrEmpty(sub));
        Assert.Equal(sub, (string?)me!["sub"]);
    }

    [Fact]
    public async Task The_seeded_admin_is_in_the_admins_group()
    {
        var tokens = await fixture.Cognito.SignInAsync(fixture.ClientId, LocalUsers.Admin.Email, LocalUsers.Admin.Password, Timeout(60));
        using var client = fixture.CreateServiceClient(tokens.AccessToken);

        var me = await client.GetFromJsonAsync<JsonObject>("/api/me", Timeout(60));

        Assert.Contains("admins", ((JsonArray)me!["groups"]!).Select(g => (string?)g));
    }

    [Fact]
    public async Task Requests_without_a_valid_access_token_are_refused()
    {
        var tokens = await fixture.Cognito.SignInAsync(fixture.ClientId, LocalUsers.Demo.Email, LocalUsers.Demo.Password, Timeout(60));
        var parts = tokens.AccessToken.Split('.');
        var tamperedPayload = Base64Url(CognitoUsers.ClaimsOf(tokens.AccessToken).Also(c => c["sub"] = "someone-else").ToJsonString());
        string[] refused =
        [
            string.Empty,
            "not-a-jwt",
            $"{parts[0]}.{tamperedPayload}.{parts[2]}",
            $"{parts[0]}.{parts[1]}.{parts[2][..^4]}AAAA",
            $"{Base64Url("""{"alg":"none","typ":"JWT"}""")}.{parts[1]}.",
            tokens.IdToken,
        ];

        foreach (var token in refused)
        {
            using var client = fixture.CreateServiceClient(token.Length == 0 ? null : token);
            using var response = await client.GetAsync(new Uri("/api/me", UriKind.Relative), Timeout(60));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using var valid = fixture.CreateServiceClient(tokens.AccessToken);
        Assert.Equal(HttpStatusCode.OK, (await valid.GetAsync(new Uri("/api/me", UriKind.Relative), Timeout(60))).StatusCode);
    }

    [Fact]
    public async Task The_openapi_document_and_its_ui_are_served_in_development()
    {
        using var client = fixture.CreateServiceClient();

        var document = await client.GetFromJsonAsync<JsonObject>("/openapi/v1.json", Timeout(60));
        using var ui = await client.GetAsync(new Uri("/scalar", UriKind.Relative), Timeout(60));

        var paths = ((JsonObject)document!["paths"]!).Select(p => p.Key).ToList();
        Assert.Contains("/api/images", paths);
        Assert.Contains("/api/uploads/{id}/complete", paths);
        Assert.Contains("/api/settings", paths);
        Assert.DoesNotContain("/internal/s3-events", paths);
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        Assert.Equal("text/html", ui.Content.Headers.ContentType?.MediaType);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(20)]
    public async Task Objects_uploaded_with_sdk_v4_defaults_read_back_byte_identical(int megabytes)
    {
        var bucket = fixture.Environment["OriginalsBucketName"];
        var data = RandomNumberGenerator.GetBytes(megabytes * 1024 * 1024);
        var key = $"tests/put-{megabytes}mb-{Guid.NewGuid():N}.bin";

        await fixture.S3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = new MemoryStream(data) }, Timeout(120));
        Assert.Equal(SHA256.HashData(data), await ReadHashAsync(bucket, key));

        // TransferUtility switches to multipart at 16 MB; force it for both sizes with a 5 MB part size.
        var multipartKey = $"tests/multipart-{megabytes}mb-{Guid.NewGuid():N}.bin";
        using var transfer = new TransferUtility(fixture.S3, new TransferUtilityConfig { MinSizeBeforePartUpload = 5 * 1024 * 1024 });
        await transfer.UploadAsync(new TransferUtilityUploadRequest
        {
            BucketName = bucket,
            Key = multipartKey,
            InputStream = new MemoryStream(data),
            PartSize = 5 * 1024 * 1024,
        }, Timeout(120));
        Assert.Equal(SHA256.HashData(data), await ReadHashAsync(bucket, multipartKey));

        var copyKey = $"tests/copy of/{Guid.NewGuid():N}.bin";
        await fixture.S3.CopyObjectAsync(new CopyObjectRequest { SourceBucket = bucket, SourceKey = key, DestinationBucket = bucket, DestinationKey = copyKey }, Timeout(120));
        Assert.Equal(SHA256.HashData(data), await ReadHashAsync(bucket, copyKey));
    }

    [Fact]
    public async Task An_object_being_put_is_neither_listed_nor_readable_until_its_put_has_finished()
    {
        var bucket = fixture.Environment["OriginalsBucketName"];
        var key = $"tests/atomic-{Guid.NewGuid():N}.bin";
        var data = RandomNumberGenerator.GetBytes(2 * 1024 * 1024);
        var url = fixture.S3.GetPreSignedURL(new GetPreSignedUrlRequest
        {
            BucketName = bucket,
            Key = key,
            Verb = HttpVerb.PUT,
            Expires = DateTime.UtcNow.AddMinutes(5),
            Protocol = Protocol.HTTP,
        });
        var halfSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var http = new HttpClient();
        using var body = new HeldBody(data, halfSent, resume);
        var put = http.PutAsync(new Uri(url), body, Timeout(120));

        // Half the bytes are with the emulator: as in S3, the key does not exist yet.
        await halfSent.Task.WaitAsync(Timeout(60));
        await Task.Delay(500, Timeout(10));
        Assert.DoesNotContain(key, await fixture.ListKeysAsync(bucket, "tests/atomic-", Timeout(60)));
        var early = await Assert.ThrowsAsync<NoSuchKeyException>(() => fixture.S3.GetObjectAsync(bucket, key, Timeout(60)));
        Assert.Equal(HttpStatusCode.NotFound, early.StatusCode);

        resume.SetResult();
        using (var response = await put)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Once the PUT has answered, a listing and a read see all of it.
        Assert.Contains(key, await fixture.ListKeysAsync(bucket, "tests/atomic-", Timeout(60)));
        Assert.Equal(SHA256.HashData(data), await ReadHashAsync(bucket, key));
    }

    /// <summary>A request body that sends its first half, then waits to be let go.</summary>
    private sealed class HeldBody(byte[] data, TaskCompletionSource halfSent, TaskCompletionSource resume) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            await stream.WriteAsync(data.AsMemory(0, data.Length / 2));
            await stream.FlushAsync();
            halfSent.TrySetResult();
            await resume.Task;
            await stream.WriteAsync(data.AsMemory(data.Length / 2));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = data.Length;
            return true;
        }
    }

    [Fact]
    public async Task The_s3_emulator_checks_signatures_as_s3_does()
    {
        var bucket = fixture.Environment["OriginalsBucketName"];
        var key = $"tests/signed ünïcode (1) +&=~*'!{Guid.NewGuid():N}.bin";
        var data = RandomNumberGenerator.GetBytes(1000);
        await fixture.S3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, InputStream = new MemoryStream(data) }, Timeout(60));
        Assert.Equal(SHA256.HashData(data), await ReadHashAsync(bucket, key));

        var config = new AmazonS3Config { ServiceURL = fixture.App.GetEndpoint("s3", "http").ToString(), ForcePathStyle = true, AuthenticationRegion = "us-east-1", MaxErrorRetry = 0 };
        using var wrongSecret = new AmazonS3Client(new BasicAWSCredentials(LocalAwsBackend.EmbeddedAccessKeyId, "not-the-secret"), config);
        var mismatch = await Assert.ThrowsAsync<AmazonS3Exception>(() => wrongSecret.GetObjectAsync(bucket, key, Timeout(60)));
        Assert.Equal(HttpStatusCode.Forbidden, mismatch.StatusCode);
        Assert.Equal("SignatureDoesNotMatch", mismatch.ErrorCode);

        using var unknownKey = new AmazonS3Client(new BasicAWSCredentials("AKIAUNKNOWN", LocalAwsBackend.EmbeddedAccessKeyId), config);
        var unknown = await Assert.ThrowsAsync<AmazonS3Exception>(() => unknownKey.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = key, ContentBody = "overwrite" }, Timeout(60)));
        Assert.Equal("InvalidAccessKeyId", unknown.ErrorCode);
        Assert.Equal(SHA256.HashData(data), await ReadHashAsync(bucket, key));
    }

    private async Task<byte[]> ReadHashAsync(string bucket, string key)
    {
        using var response = await fixture.S3.GetObjectAsync(bucket, key, Timeout(120));
        return await SHA256.HashDataAsync(response.ResponseStream, Timeout(120));
    }

    private static string Base64Url(string text) =>
        Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
