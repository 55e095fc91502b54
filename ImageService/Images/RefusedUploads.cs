using System.Collections.Concurrent;

namespace ImageAspire.ImageService.Images;

/// <summary>
/// Images the caller was told were not stored but whose item may still appear (a create or a removal whose outcome
/// stayed unknown while storage did not answer). The sweeper's background loop makes each of them gone once storage
/// answers again. Held in memory: if the process ends first, such an item stays, whole (Ready with all its files).
/// </summary>
public sealed class RefusedUploads
{
    private readonly ConcurrentDictionary<(string Owner, string Id), byte> _images = new();

    public int Count => _images.Count;

    public void Add(string owner, string id) => _images.TryAdd((owner, id), 0);

    public IReadOnlyList<(string Owner, string Id)> Snapshot() => _images.Keys.ToList();

    public void Settled(string owner, string id) => _images.TryRemove((owner, id), out _);
}
