using ImageAspire.Tests.Support;

namespace ImageAspire.Tests.Unit;

public sealed class DeployScriptTests
{
    [Fact]
    public async Task The_dry_run_prints_every_step_without_calling_aws()
    {
        var (exitCode, output) = await Repository.RunAsync("bash",
            [Repository.PathOf("Infra", "Deploy", "deploy.sh"), "--dry-run", "qa", "artifact-bucket", "eu-west-1"], Repository.Root, TestContext.Current.CancellationToken);

        Assert.True(exitCode == 0, output);
        string[] steps =
        [
            "+ dotnet publish", "-c Release -r linux-arm64 -p:LambdaBootstrap=true", "zip\\ -qr9", "\\*.dbg",
            "+ aws s3 cp", "s3://artifact-bucket/imageaspire-qa/lambda-",
            "+ openssl genpkey -algorithm RSA", "+ aws ssm put-parameter --name /imageaspire/qa/media-signing-key/v1 --type SecureString",
            "--name\\ \\'/imageaspire/qa/media-path-key\\'", "MediaKeyVersion=1 MediaPublicKeyPem=", "+ rm -f",
            "+ aws cloudformation deploy --stack-name imageaspire-qa", "--parameter-overrides AppName=imageaspire Stage=qa CodeS3Bucket=artifact-bucket",
            "Web.csproj", "\"Region\": \"eu-west-1\"", "appsettings.json",
            "+ aws s3 sync", "--content-type application/wasm", "+ aws cloudfront create-invalidation",
            "WebScriptSources=\\'sha256-",
        ];
        Assert.All(steps, step => Assert.Contains(step, output, StringComparison.Ordinal));

        // The web app is published first: its import map's hash goes into the stack's CSP. Its fingerprinted files
        // go up before the index.html that names them, and only index.html and the runtime configuration are revalidated.
        Assert.True(output.IndexOf("Web.csproj", StringComparison.Ordinal) < output.IndexOf("+ aws cloudformation deploy", StringComparison.Ordinal), output);
        var uploads = output.Split('\n').Where(l => l.StartsWith("+ aws s3 sync", StringComparison.Ordinal) || l.StartsWith("+ aws s3 cp", StringComparison.Ordinal) && l.Contains("/web/wwwroot", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, uploads.Count);
        Assert.All(uploads.Take(2), u => Assert.Contains("immutable", u, StringComparison.Ordinal));
        Assert.Contains("--exclude index.html --exclude appsettings.json", uploads[0], StringComparison.Ordinal);
        Assert.EndsWith("/index.html --only-show-errors --cache-control no-cache", uploads[3], StringComparison.Ordinal);
        Assert.Contains("/appsettings.json --only-show-errors --cache-control no-cache", uploads[2], StringComparison.Ordinal);
        Assert.DoesNotContain(uploads, u => u.Contains("--delete", StringComparison.Ordinal));
        Assert.False(Directory.Exists(Repository.PathOf("artifacts", "deploy", "web")) && File.GetLastWriteTimeUtc(Repository.PathOf("artifacts", "deploy", "web")) > DateTime.UtcNow.AddMinutes(-1),
            "the dry run must not build anything");
    }

    [Fact]
    public async Task A_media_key_rotation_trusts_the_old_public_key_beside_the_new_pair()
    {
        var (exitCode, output) = await Repository.RunAsync("bash",
            [Repository.PathOf("Infra", "Deploy", "deploy.sh"), "--dry-run", "--rotate-media-key", "qa", "artifact-bucket"], Repository.Root, TestContext.Current.CancellationToken);
        Assert.True(exitCode == 0, output);
        Assert.Contains("+ aws ssm put-parameter --name /imageaspire/qa/media-signing-key/v2", output, StringComparison.Ordinal);
        Assert.Contains("MediaKeyVersion=2 MediaPublicKeyPem=\\<public\\ key\\ v2\\> MediaPreviousKeyVersion=1 MediaPreviousPublicKeyPem=\\<public\\ key\\ v1\\>", output, StringComparison.Ordinal);

        (exitCode, output) = await Repository.RunAsync("bash",
            [Repository.PathOf("Infra", "Deploy", "deploy.sh"), "--dry-run", "--retire-previous-media-key", "qa", "artifact-bucket"], Repository.Root, TestContext.Current.CancellationToken);
        Assert.True(exitCode == 0, output);
        Assert.Contains("MediaPreviousKeyVersion=0 MediaPreviousPublicKeyPem=", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_script_refuses_to_run_without_its_arguments()
    {
        var (exitCode, output) = await Repository.RunAsync("bash", [Repository.PathOf("Infra", "Deploy", "deploy.sh"), "--dry-run"], Repository.Root, TestContext.Current.CancellationToken);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("usage", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_redrive_command_invokes_the_stage_function_with_the_redrive_action()
    {
        var (exitCode, output) = await Repository.RunAsync("bash",
            [Repository.PathOf("Infra", "Deploy", "redrive.sh"), "--dry-run", "qa", "eu-west-1"], Repository.Root, TestContext.Current.CancellationToken);

        Assert.True(exitCode == 0, output);
        Assert.Contains("payload: {\"action\":\"redrive-failed-events\"}", output, StringComparison.Ordinal);
        Assert.Contains("+ aws --region eu-west-1 lambda invoke --function-name imageaspire-qa-images --payload fileb://", output, StringComparison.Ordinal);
        Assert.Contains("redrive: 0 redriven, 0 still failing, 0 unreadable", output, StringComparison.Ordinal);
    }
}
