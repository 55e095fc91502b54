using System.Runtime.InteropServices;

namespace ImageAspire.ImageService.Processing;

/// <summary>
/// Points fontconfig at the configuration shipped in Assets/fonts when the system has none (Lambda's image has no
/// /etc/fonts). It must be in the native environment before libvips first renders text, and .NET's
/// <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach native code on Unix.
/// </summary>
internal static partial class ShippedFontConfiguration
{
    public static void UseWhereTheSystemHasNone()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("FONTCONFIG_FILE") is not null || File.Exists("/etc/fonts/fonts.conf"))
        {
            return;
        }

        var shipped = Path.Combine(AppContext.BaseDirectory, "Assets", "fonts", "fonts.conf");
        if (File.Exists(shipped))
        {
            _ = SetEnvironmentVariable("FONTCONFIG_FILE", shipped, overwrite: 0);
        }
    }

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnvironmentVariable(string name, string value, int overwrite);
}
