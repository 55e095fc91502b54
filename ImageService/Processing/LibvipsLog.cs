using NetVips;

namespace ImageAspire.ImageService.Processing;

/// <summary>
/// libvips' own warnings (a truncated JPEG, say) into the service's logging, instead of GLib writing them to stderr: so
/// they come out in the log's format (Lambda's JSON with the invocation's request and trace ids) and level.
/// </summary>
public static class LibvipsLog
{
    private static readonly Lock Gate = new();

    // libvips keeps only a pointer to the handler: the delegate must stay referenced for the process' life.
    private static Log.LogDelegate? _handler;

    public static void Attach(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        lock (Gate)
        {
            if (_handler is not null)
            {
                return;
            }

            var logger = loggerFactory.CreateLogger(typeof(LibvipsLog).FullName!);
            _handler = (domain, level, message) => logger.Log(LevelOf(level), "{Domain}: {Message}", domain, message);
            // What GLib itself prints by default; libvips' info and debug messages (one per operation) are left out.
            Log.SetLogHandler("VIPS", Enums.LogLevelFlags.Error | Enums.LogLevelFlags.Critical | Enums.LogLevelFlags.Warning | Enums.LogLevelFlags.Message, _handler);
        }
    }

    public static LogLevel LevelOf(Enums.LogLevelFlags level) =>
        (level & (Enums.LogLevelFlags.Error | Enums.LogLevelFlags.Critical)) != 0 ? LogLevel.Error
        : (level & Enums.LogLevelFlags.Warning) != 0 ? LogLevel.Warning
        : (level & Enums.LogLevelFlags.Message) != 0 ? LogLevel.Information
        : LogLevel.Debug;
}
