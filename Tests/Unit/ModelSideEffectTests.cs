using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using ImageAspire.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace ImageAspire.Tests.Unit;

/// <summary>Building and inspecting the AppHost's model (tests, <c>aspire publish</c>) writes and deletes nothing.</summary>
public sealed class ModelSideEffectTests
{
    [Fact]
    public async Task Building_the_model_and_reading_every_environment_touches_no_file()
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), $"imageaspire-model-{Guid.NewGuid():N}");
        // A completed local web build, as a developer has after one run: the old model code deleted its completion mark.
        var marker = Path.Combine(Repository.Root, "artifacts", "web-local", ".publish-complete");
        var madeMarker = !File.Exists(marker);
        var madeOutput = !Directory.Exists(Path.GetDirectoryName(marker));
        if (madeMarker)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(marker)!);
            await File.WriteAllTextAsync(marker, string.Empty, TestContext.Current.CancellationToken);
        }

        try
        {
            await BuildAndInspectAsync(dataDirectory);
        }
        finally
        {
            if (madeMarker)
            {
                File.Delete(marker);
            }

            if (madeOutput)
            {
                Directory.Delete(Path.GetDirectoryName(marker)!);
            }
        }
    }

    private static async Task BuildAndInspectAsync(string dataDirectory)
    {
        var before = Snapshot();

        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>([$"LocalAws:DataDirectory={dataDirectory}"], cts.Token);
        await using (var app = await builder.BuildAsync(cts.Token))
        {
            foreach (var resource in app.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<IResourceWithEnvironment>())
            {
#pragma warning disable CS0618 // publish mode: what `aspire publish` and model tests evaluate
                var environment = await resource.GetEnvironmentVariableValuesAsync(DistributedApplicationOperation.Publish);
#pragma warning restore CS0618
                Assert.NotNull(environment);
            }
        }

        Assert.False(Directory.Exists(dataDirectory), "the data folder was created while the model was built");
        Assert.Equal(before, Snapshot());
    }

    // What the model's side effects used to change: the web build's completion mark and compressed files, the media
    // path key in a kept data folder, the per-run data folders.
    private static string Snapshot()
    {
        var output = Path.Combine(Repository.Root, "artifacts", "web-local");
        var marker = Path.Combine(output, ".publish-complete");
        var intermediate = Path.Combine(Repository.Root, "Web", "obj", "Release");
        var perRun = Path.Combine(Path.GetTempPath(), "localaws");
        var keptKey = Path.Combine(Repository.Root, "AppHost", ".data", "media-path-key");
        return string.Join('\n',
            $"output: {Directory.Exists(output)}",
            $"marker: {(File.Exists(marker) ? File.GetLastWriteTimeUtc(marker).Ticks : 0)}",
            $"compressed: {(Directory.Exists(intermediate) ? Directory.EnumerateDirectories(intermediate, "compressed", SearchOption.AllDirectories).Count() : 0)}",
            $"kept key: {File.Exists(keptKey)}",
            $"per-run folders: {(Directory.Exists(perRun) ? string.Join(',', Directory.EnumerateDirectories(perRun).Order()) : string.Empty)}");
    }
}
