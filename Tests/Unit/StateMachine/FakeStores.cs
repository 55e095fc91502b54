using ImageAspire.ImageService.Analysis;
using System.Runtime.CompilerServices;
using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Processing;
using ImageAspire.ImageService.Storage;
using Microsoft.Extensions.Time.Testing;

namespace ImageAspire.Tests.Unit.StateMachine;

/// <summary>How one storage call goes wrong.</summary>
public enum Fault
{
    /// <summary>The call fails before the store applies anything (a reset connection, a 5xx).</summary>
    FailBeforeApplying,

    /// <summary>The store applies the call, then the answer is lost (the connection drops).</summary>
    ApplyThenLoseAnswer,

    /// <summary>The caller times out; the store applies the call later, when the test calls <see cref="FaultPlan.LandHeldCalls"/>.</summary>
    HoldAndApplyLate,

    /// <summary>The store applies the call, the answer is lost, and the SDK's retry is what the caller sees (a failed condition).</summary>
    ApplyThenRetry,
}

/// <summary>
/// Which call fails how, shared by the fake stores: calls are counted across both stores in the order they are made,
/// so a test can fail "the n-th storage call" of a flow, whatever it is.
/// </summary>
public sealed class FaultPlan(FakeTimeProvider clock)
{
    private static readonly TimeSpan StallStep = TimeSpan.FromMilliseconds(50);

    private readonly Lock _lock = new();
    private readonly List<Func<Task>> _held = [];
    private int _calls;
    private (int Call, Fault Fault, Action? Meanwhile)? _next;

    /// <summary>While true every call fails before applying (the store is down).</summary>
    public bool Down { get; set; }

    /// <summary>Every call after this one fails before applying, until <see cref="Down"/> is set false.</summary>
    public int? DownAfterCall { get; set; }

    /// <summary>
    /// Every call after this one stalls (storage stops answering, as a stopped emulator or a black-holed connection
    /// does): the fake clock runs until the caller's deadline cancels the call. Until set back to null.
    /// </summary>
    public int? StallAfterCall { get; set; }

    public List<string> Log { get; } = [];

    public int Calls => _calls;

    /// <summary>Fails call number <paramref name="call"/>; <paramref name="meanwhile"/> runs first (another worker acting at that moment).</summary>
    public void FailCall(int call, Fault fault, Action? meanwhile = null) => _next = (call, fault, meanwhile);

    /// <summary>Applies the calls that were held (in order), as a store that answered late would.</summary>
    public async Task LandHeldCallsAsync()
    {
        List<Func<Task>> held;
        lock (_lock)
        {
            held = [.. _held];
            _held.Clear();
        }

        foreach (var apply in held)
        {
            await apply();
        }
    }

    /// <summary>Runs one storage call under the plan. <paramref name="apply"/> does it; the result is what the caller gets.</summary>
    public Task<T> RunAsync<T>(string name, Func<T> apply, CancellationToken cancellationToken) => RunAsync(name, apply, null, cancellationToken);

    /// <summary>As above; <paramref name="retried"/> gives what the SDK's retry of an applied call answers.</summary>
    public async Task<T> RunAsync<T>(string name, Func<T> apply, Func<T, T>? retried, CancellationToken cancellationToken)
    {
        Fault? fault;
        Action? meanwhile = null;
        bool stall;
        lock (_lock)
        {
            var call = ++_calls;
            Log.Add($"{call}:{name}");
            stall = StallAfterCall is { } lastAnswered && call > lastAnswered;
            if (DownAfterCall is { } last && call > last)
            {
                (Down, DownAfterCall) = (true, null);
            }

            fault = Down ? Fault.FailBeforeApplying : _next is { } next && next.Call == call ? next.Fault : null;
            if (!Down && _next is { } planned && planned.Call == call)
            {
                meanwhile = planned.Meanwhile;
            }
        }

        meanwhile?.Invoke();

        await Task.Yield();
        if (stall)
        {
            // A call nobody bounded would stall for ever; five minutes of fake time says so.
            for (var waited = TimeSpan.Zero; !cancellationToken.IsCancellationRequested; waited += StallStep)
            {
                Assert.True(waited < TimeSpan.FromMinutes(5), $"{name} stalled and its caller set no deadline");
                clock.Advance(StallStep);
            }

            throw new TaskCanceledException($"{name}: no answer before the caller's deadline", null, cancellationToken);
        }

        switch (fault)
        {
            case Fault.FailBeforeApplying:
                throw new HttpRequestException($"{name}: connection reset before the request was applied");
            case Fault.ApplyThenLoseAnswer:
                apply();
                throw new IOException($"{name}: connection dropped after the request was applied");
            case Fault.HoldAndApplyLate:
                lock (_lock)
                {
                    _held.Add(() => { apply(); return Task.CompletedTask; });
                }

                throw new TimeoutException($"{name}: no answer; the request is held and will be applied late");
            case Fault.ApplyThenRetry:
                var first = apply();
                return retried is null ? first : retried(apply());
            default:
                return apply();
        }
    }
}

public sealed class FakeMetadataStore(FaultPlan plan) : IImageMetadataStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string, string), ImageRecord> _items = [];

    public IReadOnlyList<ImageRecord> Items
    {
        get
        {
            lock (_lock)
            {
                return [.. _items.Values];
            }
        }
    }

    public ImageRecord? Peek(string owner, string id)
    {
        lock (_lock)
        {
            return _items.GetValueOrDefault((owner, id));
        }
    }

    public void Put(ImageRecord image)
    {
        lock (_lock)
        {
            _items[(image.Owner, image.Id)] = image;
        }
    }

    public Task<bool> TryCreateAsync(ImageRecord image, CancellationToken cancellationToken) =>
        plan.RunAsync("ddb.create", () => Conditional(image with { Version = 1 }, null), _ => false, cancellationToken);

    public Task<ImageRecord?> GetAsync(string owner, string id, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return plan.RunAsync("ddb.get", () => Peek(owner, id), cancellationToken);
    }

    public Task<ImagePage> ListAsync(string owner, int limit, string? cursor, CancellationToken cancellationToken) =>
        plan.RunAsync("ddb.list", () =>
        {
            lock (_lock)
            {
                return new ImagePage(_items.Values.Where(i => i.Owner == owner && i.Status != ImageStatus.Discarded)
                    .OrderByDescending(i => i.Id, StringComparer.Ordinal).Take(limit).ToList(), null);
            }
        }, cancellationToken);

    public Task<ImageRecord?> TryUpdateAsync(ImageRecord image, long expectedVersion, CancellationToken cancellationToken)
    {
        var updated = image with { Version = expectedVersion + 1 };
        return plan.RunAsync("ddb.update", () => Conditional(updated, expectedVersion) ? updated : null, _ => null, cancellationToken);
    }

    public Task<bool> TryDiscardAsync(string owner, string id, long? expectedVersion, CancellationToken cancellationToken)
    {
        var tombstone = ImageRecord.Tombstone(owner, id, expectedVersion, DateTimeOffset.UnixEpoch);
        return plan.RunAsync("ddb.discard", () => Conditional(tombstone, expectedVersion), _ => false, cancellationToken);
    }

    public Task<IReadOnlyList<ImageRecord>> GetManyAsync(string owner, IReadOnlyCollection<string> ids, CancellationToken cancellationToken) =>
        plan.RunAsync<IReadOnlyList<ImageRecord>>("ddb.batch-get", () =>
        {
            lock (_lock)
            {
                return [.. ids.Distinct().Select(id => _items.GetValueOrDefault((owner, id))).OfType<ImageRecord>()];
            }
        }, cancellationToken);

    public Task<IReadOnlyList<(string Owner, string Id)>> ListAnalysisDueAsync(DateTimeOffset now, int limit, CancellationToken cancellationToken) =>
        plan.RunAsync<IReadOnlyList<(string Owner, string Id)>>("ddb.due", () =>
        {
            lock (_lock)
            {
                return [.. _items.Values.Where(i => i.AnalysisDueAt <= now).OrderBy(i => i.AnalysisDueAt).Take(limit).Select(i => (i.Owner, i.Id))];
            }
        }, cancellationToken);

    /// <summary>DynamoDB's conditions: no item yet (<paramref name="expectedVersion"/> null), or the item at that version.</summary>
    private bool Conditional(ImageRecord image, long? expectedVersion)
    {
        lock (_lock)
        {
            var current = _items.GetValueOrDefault((image.Owner, image.Id));
            if (expectedVersion is null ? current is not null : current?.Version != expectedVersion)
            {
                return false;
            }

            _items[(image.Owner, image.Id)] = image;
            return true;
        }
    }
}

public sealed class FakeObjectStore(FaultPlan plan, TimeProvider time) : IObjectStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Bucket, string Key), (byte[] Data, DateTimeOffset Written)> _objects = [];

    public IReadOnlyList<(string Bucket, string Key)> Keys
    {
        get
        {
            lock (_lock)
            {
                return [.. _objects.Keys];
            }
        }
    }

    public bool Exists(string bucket, string key)
    {
        lock (_lock)
        {
            return _objects.ContainsKey((bucket, key));
        }
    }

    public void Put(string bucket, string key, byte[] data)
    {
        lock (_lock)
        {
            _objects[(bucket, key)] = (data, time.GetUtcNow());
        }
    }

    public Task PutAsync(string bucket, string key, ReadOnlyMemory<byte> data, string contentType, string? cacheControl, IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        var bytes = data.ToArray();
        return plan.RunAsync("s3.put " + key, () => { Put(bucket, key, bytes); return true; }, cancellationToken);
    }

    public Task<(long Size, string? ContentType)?> HeadAsync(string bucket, string key, CancellationToken cancellationToken) =>
        plan.RunAsync<(long, string?)?>("s3.head " + key, () =>
        {
            lock (_lock)
            {
                return _objects.TryGetValue((bucket, key), out var found) ? (found.Data.Length, null) : null;
            }
        }, cancellationToken);

    public Task<byte[]> GetAsync(string bucket, string key, long maxBytes, CancellationToken cancellationToken) =>
        plan.RunAsync("s3.get " + key, () =>
        {
            lock (_lock)
            {
                return _objects[(bucket, key)].Data;
            }
        }, cancellationToken);

    public Task DeleteAsync(string bucket, IReadOnlyCollection<string> keys, CancellationToken cancellationToken) =>
        keys.Count == 0 ? Task.CompletedTask : plan.RunAsync("s3.delete " + string.Join(",", keys), () =>
        {
            lock (_lock)
            {
                foreach (var key in keys)
                {
                    _objects.Remove((bucket, key));
                }
            }

            return true;
        }, cancellationToken);

    public async IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var found = await plan.RunAsync("s3.list " + prefix, () =>
        {
            lock (_lock)
            {
                return _objects.Where(o => o.Key.Bucket == bucket && o.Key.Key.StartsWith(prefix, StringComparison.Ordinal))
                    .Select(o => new StoredObject(o.Key.Key, o.Value.Written)).OrderBy(o => o.Key, StringComparer.Ordinal).ToList();
            }
        }, cancellationToken);
        foreach (var item in found)
        {
            yield return item;
        }
    }

    public PresignedPut PresignPut(string bucket, string key, string contentType, long contentLength, DateTimeOffset expiresAt) =>
        new($"https://s3.example/{bucket}/{key}", new Dictionary<string, string> { ["Content-Type"] = contentType });
}

/// <summary>Six renditions of a few bytes each; an input starting with "bad" is refused as corrupt.</summary>
public sealed class FakePipeline : IImagePipeline
{
    public static readonly byte[] Good = "\xFF\xD8\xFF fake jpeg"u8.ToArray();

    public static readonly byte[] Corrupt = "bad image"u8.ToArray();

    private static readonly string[] Names = ["thumb", "medium", "large"];
    private static readonly EncodedFormat[] Formats = [EncodedFormat.Jpeg, EncodedFormat.WebP];

    public PipelineResult Process(ReadOnlyMemory<byte> original, ProcessingSettings settings, Action<byte[]>? analysisImageReady, CancellationToken cancellationToken = default)
    {
        if (original.Span.StartsWith("bad"u8))
        {
            throw new ImageRejectedException(RejectionReason.Corrupt, "The image is truncated or corrupt.");
        }

        analysisImageReady?.Invoke([0xFF, 0xD8, 0xFF]);
        var renditions = Names.Skip(1)
            .SelectMany(name => Formats.Select(format => new RenditionOutput(name, format, 10, 10, [1, 2, 3])))
            .ToList();
        return new PipelineResult(ImageFormat.Jpeg, 40, 30, renditions, [0xFF, 0xD8, 0xFF], new CropSource([0, 0, 0], 1, 1));
    }

    public byte[] AnalysisImage(ReadOnlyMemory<byte> original, ProcessingSettings settings, CancellationToken cancellationToken = default) =>
        original.Span.StartsWith("bad"u8)
            ? throw new ImageRejectedException(RejectionReason.Corrupt, "The image is truncated or corrupt.")
            : [0xFF, 0xD8, 0xFF];

    /// <summary>The faces each crop was given, in order.</summary>
    public List<IReadOnlyList<BoundingBox>> CropFaces { get; } = [];

    public IReadOnlyList<RenditionOutput> Crop(PipelineResult result, ProcessingSettings settings, IReadOnlyList<BoundingBox> faces, CancellationToken cancellationToken = default)
    {
        lock (CropFaces)
        {
            CropFaces.Add(faces);
        }

        return [.. Formats.Select(format => new RenditionOutput(Names[0], format, 10, 10, [1, 2, 3]))];
    }
}

/// <summary>Label entries kept in memory, outside the fault plan (so a flow's storage calls count as before); <see cref="Down"/> fails every call.</summary>
public sealed class FakeLabelIndex : ILabelIndex
{
    private readonly Lock _lock = new();
    private readonly SortedSet<(string Owner, string Label, string Id)> _entries = [];

    public bool Down { get; set; }

    public IReadOnlyList<(string Owner, string Label, string Id)> Entries
    {
        get
        {
            lock (_lock)
            {
                return [.. _entries];
            }
        }
    }

    public Task AddAsync(string owner, string id, IReadOnlyCollection<string> labels, CancellationToken cancellationToken) => Run(() =>
    {
        foreach (var label in labels)
        {
            _entries.Add((owner, DynamoDbLabelIndex.KeyOf(label), id));
        }

        return true;
    });

    public Task RemoveAsync(string owner, string id, IReadOnlyCollection<string> labels, CancellationToken cancellationToken) => Run(() =>
    {
        foreach (var label in labels)
        {
            _entries.Remove((owner, DynamoDbLabelIndex.KeyOf(label), id));
        }

        return true;
    });

    public Task<LabelPage> FindAsync(string owner, string label, int limit, string? cursor, CancellationToken cancellationToken) => Run(() => new LabelPage(
        [.. _entries.Where(e => e.Owner == owner && e.Label == DynamoDbLabelIndex.KeyOf(label)).Select(e => e.Id).OrderDescending(StringComparer.Ordinal).Take(limit)], null));

    public Task<IReadOnlyList<(string Label, int Images)>> SummarizeAsync(string owner, int maxEntries, CancellationToken cancellationToken) =>
        Run<IReadOnlyList<(string Label, int Images)>>(() => [.. _entries.Where(e => e.Owner == owner).GroupBy(e => e.Label).Select(g => (g.Key, g.Count()))]);

    // Down fails reads as well as writes.
    private Task<T> Run<T>(Func<T> action)
    {
        if (Down)
        {
            return Task.FromException<T>(new HttpRequestException("label index: connection reset"));
        }

        lock (_lock)
        {
            return Task.FromResult(action());
        }
    }
}

public sealed class FixedSettingsStore : ISettingsStore
{
    public Task<ProcessingSettings> GetAsync(CancellationToken cancellationToken) => Task.FromResult(ProcessingSettings.Default);

    public Task SaveAsync(ProcessingSettings settings, CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Answers every analysis at once with one label, or as the test says.</summary>
public sealed class FakeAnalyzer : IImageAnalyzer
{
    public static readonly ImageAnalysis Found = new(AnalysisStatus.Done, [new DetectedLabel("Thing", 90, [], [])], [], [], false, "fake", null);

    public Func<byte[], CancellationToken, Task<ImageAnalysis>> Answer { get; set; } = (_, _) => Task.FromResult(Found);

    public int Calls { get; private set; }

    public AnalysisRun Start(byte[] jpeg, AnalysisSettings settings, CancellationToken cancellationToken)
    {
        Calls++;
        return AnalysisRun.Of(Answer(jpeg, cancellationToken));
    }
}
