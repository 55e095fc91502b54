using ImageAspire.Hosting.LocalAws;

namespace ImageAspire.AppHost;

/// <summary>The users the local backend creates: the README's demo user and an admin who may change the settings.</summary>
public static class LocalUsers
{
    public static SeedUser Demo { get; } = new("demo@imageaspire.local", "Demo-pass1");

    /// <summary>A member of the template's <c>AdminsGroup</c>.</summary>
    public static SeedUser Admin { get; } = new("admin@imageaspire.local", "Admin-pass1", ["AdminsGroup"]);
}
