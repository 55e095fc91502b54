using ImageAspire.ImageService.Analysis;
using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Media;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace ImageAspire.Tests.Unit.StateMachine;

/// <summary>The upload state machine wired to fake stores that fail as a test plans, on a fake clock.</summary>
public sealed class Harness : IDisposable
{
    public const string Owner = "owner-1";
    public const string Originals = "originals-bucket";
    public const string Renditions = "renditions-bucket";

    public static readonly TimeSpan ClaimTimeout = TimeSpan.FromMinutes(2);
    public static readonly SweeperOptions SweeperSettings = new() { Grace = TimeSpan.FromMinutes(5) };

    private readonly PipelineGate _gate;

    public Harness()
    {
        Time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 29, 12, 0, 0, TimeSpan.Zero));
        Plan = new FaultPlan(Time);
        Metadata = new FakeMetadataStore(Plan);
        Objects = new FakeObjectStore(Plan, Time);
        var storage = Options.Create(new StorageOptions { OriginalsBucket = Originals, RenditionsBucket = Renditions, Table = "images" });
        var processing = Options.Create(new ProcessingOptions { ClaimTimeout = ClaimTimeout, MaxConcurrentPipelines = 2 });
        _gate = new PipelineGate(processing);
        Media = TestMedia.Secrets();
        var settings = new FixedSettingsStore();
        var analysisOptions = Options.Create(AnalysisSettings);
        var processor = new ImageProcessor(Pipeline, _gate, settings, Analyzer, Media, storage, analysisOptions, Time, NullLogger<ImageProcessor>.Instance);
        var resolver = new CommitResolver(Metadata, Time, NullLogger<CommitResolver>.Instance);
        Remover = new ImageRemover(Metadata, Objects, Labels, Media, storage, Time, NullLogger<ImageRemover>.Instance);
        Reframer = new SquareReframer(Objects, Pipeline, _gate, settings, processor, storage, processing, Time, NullLogger<SquareReframer>.Instance);
        Analyses = new ImageAnalyses(Metadata, Labels, Objects, Pipeline, _gate, settings, Analyzer, Reframer, analysisOptions, storage, processing, Time, NullLogger<ImageAnalyses>.Instance);
        FollowUps = new AnalysisFollowUps(Analyses, new AnalysesInFlight(), storage, Time, NullLogger<AnalysisFollowUps>.Instance);
        Direct = new DirectUploads(processor, Objects, Metadata, resolver, Remover, Analyses, FollowUps, storage, processing, Time, NullLogger<DirectUploads>.Instance);
        Tickets = new UploadTickets(Objects, Metadata, storage, processing, Time, NullLogger<UploadTickets>.Instance);
        Presigned = new PresignedUploads(processor, Objects, Metadata, resolver, Analyses, storage, processing, Time, NullLogger<PresignedUploads>.Instance);
        Library = new ImageLibrary(Metadata, Labels, Remover, storage, processing, Time, NullLogger<ImageLibrary>.Instance);
        Sweeper = new OrphanSweeper(Objects, Metadata, Media, storage, processing, Options.Create(SweeperSettings), Time, NullLogger<OrphanSweeper>.Instance);
    }

    public FaultPlan Plan { get; }

    public static readonly AnalysisOptions AnalysisSettings = new() { RetryDelay = TimeSpan.FromSeconds(30), FaceWait = TimeSpan.FromSeconds(1) };

    public FakeAnalyzer Analyzer { get; } = new();

    public FakePipeline Pipeline { get; } = new();

    public FakeLabelIndex Labels { get; } = new();

    public ImageAnalyses Analyses { get; }

    public AnalysisFollowUps FollowUps { get; }

    public SquareReframer Reframer { get; }

    public MediaSecrets Media { get; }
    public FakeTimeProvider Time { get; }
    public FakeMetadataStore Metadata { get; }
    public FakeObjectStore Objects { get; }
    public ImageRemover Remover { get; }
    public DirectUploads Direct { get; }
    public UploadTickets Tickets { get; }
    public PresignedUploads Presigned { get; }
    public ImageLibrary Library { get; }
    public OrphanSweeper Sweeper { get; }

    public static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>Runs a call; a storage fault must surface as a 503-kind failure (never anything that maps to 500).</summary>
    public static async Task<(T? Result, Exception? Failure)> TryAsync<T>(Func<Task<T>> call)
    {
        try
        {
            return (await call(), null);
        }
        catch (Exception ex) when (ex is not ImageRejectedException and not UploadNotFoundException)
        {
            Assert.True(StorageCalls.IsTransient(ex) || ex is UploadInProgressException, $"a storage fault surfaced as {ex.GetType().Name}: {ex.Message}");
            return (default, ex);
        }
    }

    /// <summary>The items a reader is shown (tombstones and unconfirmed items read as missing).</summary>
    public IReadOnlyList<ImageRecord> VisibleItems =>
        [.. Metadata.Items.Select(i => UploadRules.Effective(i, Time.GetUtcNow(), ClaimTimeout)).OfType<ImageRecord>()];

    /// <summary>Invariant 1: every item that reads Ready has its original and every rendition it lists.</summary>
    public void AssertReadyItemsAreWhole()
    {
        foreach (var item in Metadata.Items.Where(i => i.Status == ImageStatus.Ready))
        {
            Assert.True(Objects.Exists(Originals, item.OriginalKey), $"Ready {item.Id} lost its original");
            Assert.NotEmpty(item.Renditions);
            Assert.All(item.Renditions, r => Assert.True(Objects.Exists(Renditions, r.Key), $"Ready {item.Id} lost {r.Key}"));
        }
    }

    /// <summary>Invariant 4, once the sweeper ran: every object is referenced by a live item.</summary>
    public void AssertNoUnreferencedObjects()
    {
        var referenced = Support.StoredImages.ReferencedObjects(Metadata.Items, Originals, Renditions);
        Assert.All(Objects.Keys, key => Assert.Contains(key, referenced));
    }

    /// <summary>Late answers land, storage is back, time passes the grace and the claim timeout, the sweeper runs.</summary>
    public async Task SettleAsync()
    {
        await Plan.LandHeldCallsAsync();
        Plan.Down = false;
        Plan.StallAfterCall = null;
        Plan.FailCall(-1, Fault.FailBeforeApplying);
        Time.Advance(SweeperSettings.Grace + ClaimTimeout + TimeSpan.FromSeconds(1));
        await Sweeper.SweepAsync(Token);
    }

    public void Dispose()
    {
        _gate.Dispose();
        Media.Dispose();
    }
}
