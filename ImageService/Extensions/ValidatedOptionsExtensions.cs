using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class ValidatedOptionsExtensions
{
    /// <summary>
    /// Checks the options with a validator generated at compile time (<c>[OptionsValidator]</c>) instead of
    /// <c>ValidateDataAnnotations</c>, which reads the attributes through reflection that Native AOT cannot keep.
    /// </summary>
    public static OptionsBuilder<TOptions> ValidateWith<TOptions>(this OptionsBuilder<TOptions> builder, IValidateOptions<TOptions> validator)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton(validator);
        return builder;
    }
}
