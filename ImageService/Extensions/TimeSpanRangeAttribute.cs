using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace ImageAspire.ImageService.Extensions;

/// <summary>
/// A <see cref="TimeSpan"/> between two bounds, inclusive. <c>[Range(typeof(TimeSpan), ...)]</c> converts its bounds
/// through reflection-based type converters, which trimming and Native AOT cannot keep; this parses them directly.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class TimeSpanRangeAttribute(string minimum, string maximum) : ValidationAttribute
{
    public TimeSpan Minimum { get; } = TimeSpan.Parse(minimum, CultureInfo.InvariantCulture);

    public TimeSpan Maximum { get; } = TimeSpan.Parse(maximum, CultureInfo.InvariantCulture);

    public override bool IsValid(object? value) => value is not TimeSpan span || (span >= Minimum && span <= Maximum);

    public override string FormatErrorMessage(string name) =>
        string.Create(CultureInfo.InvariantCulture, $"The field {name} must be between {Minimum} and {Maximum}.");
}
