using System.Text.Json;
using System.Text.Json.Serialization;
using ImageAspire.ImageService.Apis;
using ImageAspire.ImageService.Images;
using ImageAspire.ImageService.Processing;

namespace ImageAspire.ImageService;

/// <summary>
/// Every type the API reads or writes and the settings document, serialized without reflection (Native AOT); the
/// service turns reflection-based serialization off, so a type missing here fails every test that touches it.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(MeApi.CallerInfo))]
[JsonSerializable(typeof(ImageResource))]
[JsonSerializable(typeof(ImageAspire.ImageService.Analysis.ImageAnalysis))]
[JsonSerializable(typeof(ImageResource[]))]
[JsonSerializable(typeof(ImageList))]
[JsonSerializable(typeof(LabelCount[]))]
[JsonSerializable(typeof(UploadsApi.CreateUploadRequest))]
[JsonSerializable(typeof(UploadsApi.UploadTicket))]
[JsonSerializable(typeof(ProcessingSettings))]
[JsonSerializable(typeof(S3EventNotification))]
[JsonSerializable(typeof(S3EventOutcome))]
[JsonSerializable(typeof(SweepReport))]
[JsonSerializable(typeof(FailedInvocationRecord))]
[JsonSerializable(typeof(RedriveReport))]
[JsonSerializable(typeof(ImageAspire.ImageService.Media.MediaSession))]
public sealed partial class ImageServiceJsonContext : JsonSerializerContext;
