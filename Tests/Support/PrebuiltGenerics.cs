using System.Xml.Linq;

namespace ImageAspire.Tests.Support;

/// <summary>
/// The Lambda bootstrap's list of generic types compiled ahead of time (ImageService/Lambda/PrebuiltGenerics.rd.xml);
/// read by its unit test and by the benchmarks' <c>typeloads</c> mode (linked there).
/// </summary>
public static class PrebuiltGenerics
{
    /// <summary>One entry as the list has it: the generic type's assembly, and its name with its arguments.</summary>
    public static string Entry(string assembly, string type) => $"{assembly}|{type}";

    /// <summary>Every entry of the list.</summary>
    public static HashSet<string> Listed() =>
        XDocument.Load(Repository.PathOf("ImageService", "Lambda", "PrebuiltGenerics.rd.xml")).Descendants()
            .Where(e => e.Name.LocalName == "Type")
            .Select(e => Entry(e.Parent!.Attribute("Name")!.Value, e.Attribute("Name")!.Value))
            .ToHashSet(StringComparer.Ordinal);
}
