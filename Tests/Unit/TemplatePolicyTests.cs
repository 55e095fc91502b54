using System.Text.Json.Nodes;
using ImageAspire.LocalAws.Templates;
using ImageAspire.Tests.Support;

namespace ImageAspire.Tests.Unit;

/// <summary>The project's own security rules, checked on the template itself.</summary>
public sealed class TemplatePolicyTests
{
    private static readonly CloudFormationTemplate Template = CloudFormationTemplate.Load(Repository.PathOf("Infra", "Deploy", "template.yaml"));

    private static readonly string[] DataServices = ["s3", "dynamodb"];

    private static IEnumerable<(string Where, JsonObject Statement)> IamStatements()
    {
        foreach (var resource in Template.Resources)
        {
            var documents = new List<JsonNode?>();
            if (resource.Type == "AWS::IAM::Role")
            {
                documents.AddRange((resource.Properties["Policies"] as JsonArray ?? []).Select(p => p?["PolicyDocument"]));
            }
            else if (resource.Type is "AWS::IAM::Policy" or "AWS::IAM::ManagedPolicy" or "AWS::S3::BucketPolicy")
            {
                documents.Add(resource.Properties["PolicyDocument"]);
            }

            foreach (var document in documents)
            {
                foreach (var statement in document?["Statement"] as JsonArray ?? [])
                {
                    // A statement under a condition (!If [cond, statement, AWS::NoValue]) is checked as if the condition held.
                    foreach (var branch in statement?["Fn::If"] is JsonArray conditional ? conditional.Skip(1) : [statement])
                    {
                        if (branch is JsonObject candidate && !candidate.ContainsKey("Ref"))
                        {
                            yield return (resource.LogicalId, candidate);
                        }
                    }
                }
            }
        }
    }

    private static List<string> Values(JsonNode? node) => node switch
    {
        JsonArray array => array.Select(n => n?.ToJsonString().Trim('"') ?? string.Empty).ToList(),
        null => [],
        _ => [node.ToJsonString().Trim('"')],
    };

    [Fact]
    public void No_allow_statement_grants_every_action_of_a_data_service()
    {
        var statements = IamStatements().Where(s => (string?)s.Statement["Effect"] == "Allow").ToList();
        Assert.NotEmpty(statements);
        foreach (var (where, statement) in statements)
        {
            foreach (var action in Values(statement["Action"]))
            {
                Assert.False(action == "*" || DataServices.Any(service => action.Equals($"{service}:*", StringComparison.OrdinalIgnoreCase)),
                    $"{where}: Allow {action}");
            }
        }
    }

    [Fact]
    public void No_allow_statement_on_s3_or_dynamodb_has_a_wildcard_resource()
    {
        foreach (var (where, statement) in IamStatements().Where(s => (string?)s.Statement["Effect"] == "Allow"))
        {
            if (!Values(statement["Action"]).Any(a => DataServices.Any(service => a.StartsWith($"{service}:", StringComparison.OrdinalIgnoreCase))))
            {
                continue;
            }

            foreach (var resource in Values(statement["Resource"]))
            {
                Assert.False(resource is "*" or "\"*\"", $"{where}: {statement.ToJsonString()}");
                Assert.DoesNotContain(":::*", resource, StringComparison.Ordinal);
            }

            Assert.Null(statement["NotResource"]);
        }
    }

    [Fact]
    public void Only_XRay_and_the_three_Rekognition_image_calls_are_allowed_on_every_resource()
    {
        var wildcard = IamStatements()
            .Where(s => (string?)s.Statement["Effect"] == "Allow" && Values(s.Statement["Resource"]).Any(r => r is "*"))
            .ToDictionary(s => (string?)s.Statement["Sid"] ?? s.Where, s => Values(s.Statement["Action"]).Order().ToList());

        Assert.Equal(["ImageAnalysis", "Traces"], wildcard.Keys.Order());
        Assert.Equal(["rekognition:DetectFaces", "rekognition:DetectLabels", "rekognition:DetectModerationLabels"], wildcard["ImageAnalysis"]);
        Assert.All(wildcard["Traces"], action => Assert.StartsWith("xray:", action, StringComparison.Ordinal));
    }

    [Fact]
    public void With_analysis_disabled_the_role_has_no_Rekognition_permission_and_the_function_is_told()
    {
        foreach (var (setting, expected) in new[] { ("enabled", "true"), ("disabled", "false") })
        {
            var context = new TemplateContext(Template, new Dictionary<string, string> { ["ImageAnalysis"] = setting });
            var statements = Template.Resources.Single(r => r.LogicalId == "ImageFunctionRole").Properties["Policies"]!.AsArray()
                .SelectMany(p => p!["PolicyDocument"]!["Statement"]!.AsArray())
                .Where(s => s is JsonObject { Count: 1 } conditional && conditional.ContainsKey("Fn::If"))
                .Select(s => TemplateFunctions.Resolve(s, context))
                .OfType<JsonObject>()
                .ToList();
            Assert.Equal(setting == "enabled", statements.SelectMany(s => Values(s["Action"])).Any(a => a.StartsWith("rekognition:", StringComparison.Ordinal)));
            var variables = Template.Resources.Single(r => r.LogicalId == "ImageFunction").Properties["Environment"]!["Variables"]!;
            Assert.Equal(expected, TemplateFunctions.Resolve(variables["Analysis__Enabled"], context)!.ToString());
        }
    }

    [Fact]
    public void No_broad_managed_policies_are_attached()
    {
        var text = File.ReadAllText(Repository.PathOf("Infra", "Deploy", "template.yaml"));
        Assert.DoesNotContain("FullAccess", text, StringComparison.Ordinal);
        Assert.DoesNotContain("PowerUser", text, StringComparison.Ordinal);
        Assert.All(Template.ResourcesOfType("AWS::IAM::Role"), role => Assert.Null(role.Properties["ManagedPolicyArns"]));
    }

    [Fact]
    public void Every_bucket_blocks_public_access_is_encrypted_and_allows_tls_only()
    {
        var buckets = Template.ResourcesOfType("AWS::S3::Bucket").ToList();
        Assert.Equal(4, buckets.Count);
        var policies = Template.ResourcesOfType("AWS::S3::BucketPolicy").ToList();
        foreach (var bucket in buckets)
        {
            var block = bucket.Properties["PublicAccessBlockConfiguration"]!;
            foreach (var flag in new[] { "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets" })
            {
                Assert.True((bool?)block[flag] == true, $"{bucket.LogicalId}: {flag}");
            }

            var encryption = bucket.Properties["BucketEncryption"]?["ServerSideEncryptionConfiguration"]?[0]?["ServerSideEncryptionByDefault"]?["SSEAlgorithm"];
            Assert.True((string?)encryption is "AES256" or "aws:kms", $"{bucket.LogicalId}: no default encryption");

            var policy = Assert.Single(policies, p => p.Properties["Bucket"]?.ToJsonString() == $$"""{"Ref":"{{bucket.LogicalId}}"}""");
            var statements = (JsonArray)policy.Properties["PolicyDocument"]!["Statement"]!;
            Assert.Contains(statements, s =>
                (string?)s!["Effect"] == "Deny"
                && (string?)s["Condition"]?["Bool"]?["aws:SecureTransport"] == "false"
                && Values(s["Action"]).Contains("s3:*"));
        }
    }

    [Fact]
    public void Cloudfront_reaches_s3_only_through_origin_access_control()
    {
        var distribution = Template.ResourcesOfType("AWS::CloudFront::Distribution").Single();
        var origins = (JsonArray)distribution.Properties["DistributionConfig"]!["Origins"]!;
        var s3Origins = origins.Where(o => o!["S3OriginConfig"] is not null).ToList();
        Assert.Equal(2, s3Origins.Count);
        Assert.All(s3Origins, origin =>
        {
            Assert.NotNull(origin!["OriginAccessControlId"]);
            Assert.Equal(string.Empty, (string?)origin["S3OriginConfig"]!["OriginAccessIdentity"]);
        });
        var api = origins.Single(o => (string?)o!["Id"] == "api")!;
        Assert.Equal("https-only", (string?)api["CustomOriginConfig"]!["OriginProtocolPolicy"]);
    }

    [Fact]
    public void Every_api_route_has_the_jwt_authorizer()
    {
        var routes = Template.ResourcesOfType("AWS::ApiGatewayV2::Route").ToList();
        Assert.NotEmpty(routes);
        Assert.All(routes, route =>
        {
            Assert.Equal("JWT", (string?)route.Properties["AuthorizationType"]);
            Assert.Equal("""{"Ref":"HttpApiAuthorizer"}""", route.Properties["AuthorizerId"]!.ToJsonString());
        });
        var authorizer = Template.Resources.Single(r => r.LogicalId == "HttpApiAuthorizer").Properties;
        Assert.Equal("""[{"Ref":"UserPoolClient"}]""", authorizer["JwtConfiguration"]!["Audience"]!.ToJsonString());
    }

    [Fact]
    public void Cloudfront_sends_the_security_headers_on_every_behavior()
    {
        var config = Template.ResourcesOfType("AWS::CloudFront::Distribution").Single().Properties["DistributionConfig"]!;
        var behaviors = ((JsonArray)config["CacheBehaviors"]!).Append(config["DefaultCacheBehavior"]).ToList();
        Assert.All(behaviors, b => Assert.Equal("""{"Ref":"SecurityHeadersPolicy"}""", b!["ResponseHeadersPolicyId"]!.ToJsonString()));
        var headers = Template.Resources.Single(r => r.LogicalId == "SecurityHeadersPolicy").Properties["ResponseHeadersPolicyConfig"]!["SecurityHeadersConfig"]!;
        Assert.NotNull(headers["StrictTransportSecurity"]);
        Assert.NotNull(headers["ContentSecurityPolicy"]);
        Assert.NotNull(headers["ContentTypeOptions"]);
        Assert.Equal("DENY", (string?)headers["FrameOptions"]!["FrameOption"]);
        Assert.NotNull(headers["ReferrerPolicy"]);
        Assert.Equal("http2and3", (string?)config["HttpVersion"]);
    }

    [Fact]
    public void Scripts_run_only_from_the_site_and_by_hash_never_inline_at_large()
    {
        var policy = Template.Resources.Single(r => r.LogicalId == "SecurityHeadersPolicy").Properties["ResponseHeadersPolicyConfig"]!["SecurityHeadersConfig"]!;
        var csp = (string)policy["ContentSecurityPolicy"]!["ContentSecurityPolicy"]!["Fn::Sub"]!;
        var scriptSrc = csp.Split(';', StringSplitOptions.TrimEntries).Single(d => d.StartsWith("script-src ", StringComparison.Ordinal));
        Assert.Equal("script-src 'self' 'wasm-unsafe-eval' ${WebScriptSources}", scriptSrc);

        // The parameter takes hash sources only (deploy.sh passes the new and the previous import map's).
        var pattern = new System.Text.RegularExpressions.Regex((string)Template.Root["Parameters"]!["WebScriptSources"]!["AllowedPattern"]!);
        Assert.Matches(pattern, "'sha256-l9AaelCPQeKJgMhcaxHqIkK3figIJMsBkXOvnflou14=' 'sha256-wTzW7KxHR0vkx9SPVQRul+WenwGniLQ+kR9m25EaMf0='");
        Assert.Matches(pattern, string.Empty);
        Assert.DoesNotMatch(pattern, "'unsafe-inline'");
        Assert.DoesNotMatch(pattern, "'sha256-l9AaelCPQeKJgMhcaxHqIkK3figIJMsBkXOvnflou14=' https://evil.example");
    }

    [Fact]
    public void Media_requires_signed_access_through_the_templates_key_group()
    {
        var config = Template.ResourcesOfType("AWS::CloudFront::Distribution").Single().Properties["DistributionConfig"]!;
        var media = ((JsonArray)config["CacheBehaviors"]!).Single(b => (string?)b!["PathPattern"] == "/media/*")!;
        Assert.Equal("""[{"Ref":"MediaKeyGroup"}]""", media["TrustedKeyGroups"]!.ToJsonString());
        Assert.Equal("AWS::CloudFront::KeyGroup", Template.Resources.Single(r => r.LogicalId == "MediaKeyGroup").Type);
        Assert.Equal("AWS::CloudFront::PublicKey", Template.Resources.Single(r => r.LogicalId == "MediaPublicKey").Type);
        // Only the media behavior: the site and the API stay open to unsigned requests.
        var others = ((JsonArray)config["CacheBehaviors"]!).Where(b => (string?)b!["PathPattern"] != "/media/*").Append(config["DefaultCacheBehavior"]);
        Assert.All(others, b => Assert.Null(b!["TrustedKeyGroups"]));
        // The cache key leaves cookies and query strings out (CachingOptimized), so signatures do not split the cache.
        Assert.Equal("658327ea-f89d-4fab-a63d-7e88639e58f6", (string?)media["CachePolicyId"]);
    }

    [Fact]
    public void Only_the_function_reads_the_media_keys_and_only_through_ssm()
    {
        var reads = IamStatements().Where(s => (string?)s.Statement["Effect"] == "Allow"
            && Values(s.Statement["Action"]).Any(a => a.StartsWith("ssm:", StringComparison.Ordinal) || a == "kms:Decrypt")).ToList();
        Assert.Equal(2, reads.Count);
        Assert.All(reads, r => Assert.Equal("ImageFunctionRole", r.Where));
        var parameters = reads.Single(r => Values(r.Statement["Action"]).SequenceEqual(["ssm:GetParameters"]));
        var resources = Values(parameters.Statement["Resource"]);
        Assert.Equal(2, resources.Count);
        Assert.Contains(resources, r => r.Contains(":parameter/${AppName}/${Stage}/media-signing-key/*", StringComparison.Ordinal));
        Assert.Contains(resources, r => r.Contains(":parameter/${AppName}/${Stage}/media-path-key", StringComparison.Ordinal));
        var decrypt = reads.Single(r => Values(r.Statement["Action"]).SequenceEqual(["kms:Decrypt"]));
        Assert.Contains("kms:ViaService", decrypt.Statement["Condition"]!.ToJsonString(), StringComparison.Ordinal);
        var environment = Template.Resources.Single(r => r.LogicalId == "ImageFunction").Properties["Environment"]!["Variables"]!;
        Assert.Equal("""{"Fn::Sub":"/${AppName}/${Stage}/media-signing-key/v${MediaKeyVersion}"}""", environment["Media__PrivateKeyParameter"]!.ToJsonString());
        Assert.Equal("""{"Fn::Sub":"/${AppName}/${Stage}/media-path-key"}""", environment["Media__PathKeyParameter"]!.ToJsonString());
    }

    [Fact]
    public void Nothing_but_cloudfront_reads_renditions()
    {
        var readers = IamStatements().Where(s => (string?)s.Statement["Effect"] == "Allow"
            && Values(s.Statement["Action"]).Any(a => a is "s3:GetObject" or "s3:*" or "*")
            && Values(s.Statement["Resource"]).Any(r => r.Contains("renditions", StringComparison.OrdinalIgnoreCase) || r.Contains("RenditionsBucket", StringComparison.Ordinal)))
            .ToList();
        var reader = Assert.Single(readers);
        Assert.Equal("RenditionsBucketPolicy", reader.Where);
        Assert.Equal("""{"Service":"cloudfront.amazonaws.com"}""", reader.Statement["Principal"]!.ToJsonString());
        Assert.Contains("AWS:SourceArn", reader.Statement["Condition"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Failed_s3_events_go_to_the_failure_bucket_which_only_the_function_writes_and_redrives()
    {
        var invoke = Template.ResourcesOfType("AWS::Lambda::EventInvokeConfig").Single().Properties;
        Assert.Equal("""{"Fn::GetAtt":["FailedEventsBucket","Arn"]}""", invoke["DestinationConfig"]!["OnFailure"]!["Destination"]!.ToJsonString());
        var writers = IamStatements().Where(s => (string?)s.Statement["Effect"] == "Allow"
            && Values(s.Statement["Resource"]).Any(r => r.Contains("failed-events", StringComparison.Ordinal) || r.Contains("FailedEventsBucket", StringComparison.Ordinal)))
            .ToList();
        Assert.All(writers, w => Assert.Equal("ImageFunctionRole", w.Where));
        // Lambda writes the records with the function's role; the redrive reads, lists and deletes them: nothing else.
        Assert.Equal(["s3:DeleteObject", "s3:GetObject", "s3:ListBucket", "s3:PutObject"], writers.SelectMany(w => Values(w.Statement["Action"])).Order(StringComparer.Ordinal));
        var objects = writers.Single(w => Values(w.Statement["Action"]).Contains("s3:GetObject"));
        Assert.All(Values(objects.Statement["Resource"]), r => Assert.Contains("failed-events-${AWS::AccountId}/*", r, StringComparison.Ordinal));
        var function = Template.ResourcesOfType("AWS::Lambda::Function").Single().Properties;
        Assert.Contains("failed-events", function["Environment"]!["Variables"]!["Storage__FailedEventsBucket"]!.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_function_traces_to_xray_logs_json_at_parameter_levels_and_writes_its_metrics_as_emf()
    {
        var function = Template.ResourcesOfType("AWS::Lambda::Function").Single().Properties;
        Assert.Equal("Active", (string?)function["TracingConfig"]!["Mode"]);
        var logging = function["LoggingConfig"]!;
        Assert.Equal("JSON", (string?)logging["LogFormat"]);
        Assert.Equal("""{"Ref":"ApplicationLogLevel"}""", logging["ApplicationLogLevel"]!.ToJsonString());
        Assert.Equal("""{"Ref":"SystemLogLevel"}""", logging["SystemLogLevel"]!.ToJsonString());
        Assert.Equal(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], Values(Template.Root["Parameters"]!["ApplicationLogLevel"]!["AllowedValues"]));
        Assert.Equal(["DEBUG", "INFO", "WARN"], Values(Template.Root["Parameters"]!["SystemLogLevel"]!["AllowedValues"]));

        var environment = function["Environment"]!["Variables"]!;
        Assert.Equal("""{"Fn::Sub":"https://xray.${AWS::Region}.amazonaws.com/v1/traces"}""", environment["Telemetry__AwsTracesEndpoint"]!.ToJsonString());
        Assert.NotNull(environment["Telemetry__EmfNamespace"]);
        Assert.NotNull(environment["OTEL_SERVICE_NAME"]);
        // The local dashboard's exporter is never configured in AWS: the X-Ray path is the one that applies there.
        Assert.Null(environment["OTEL_EXPORTER_OTLP_ENDPOINT"]);
    }

    [Fact]
    public void Every_alarm_notifies_the_alarm_topic_and_the_dashboard_shows_them_all()
    {
        var alarms = Template.ResourcesOfType("AWS::CloudWatch::Alarm").ToList();
        var watched = alarms.Select(a => (string?)a.Properties["MetricName"]
            ?? string.Join('+', ((JsonArray)a.Properties["Metrics"]!).Select(m => (string?)m!["MetricStat"]?["Metric"]?["MetricName"]).OfType<string>())).ToList();
        Assert.Equal(["Errors", "Throttles", "Duration", "5xx+Count", "Latency", "PutRequests", "ReadThrottleEvents+WriteThrottleEvents"], watched);
        Assert.All(alarms, a => Assert.Contains("""{"Ref":"AlarmTopic"}""", a.Properties["AlarmActions"]!.ToJsonString(), StringComparison.Ordinal));
        Assert.Equal("AlarmEmailSubscription", Template.Resources.Single(r => r.Type == "AWS::SNS::Subscription").LogicalId);

        // The dashboard body is JSON once CloudFormation has substituted it, and names every alarm.
        var body = (string)Template.ResourcesOfType("AWS::CloudWatch::Dashboard").Single().Properties["DashboardBody"]!["Fn::Sub"]![0]!;
        using var parsed = System.Text.Json.JsonDocument.Parse(System.Text.RegularExpressions.Regex.Replace(body, @"\$\{[^}]+\}", "0"));
        Assert.True(parsed.RootElement.GetProperty("widgets").GetArrayLength() >= 6);
        Assert.All(alarms, a => Assert.Contains($"${{{a.LogicalId}.Arn}}", body, StringComparison.Ordinal));
    }
}
