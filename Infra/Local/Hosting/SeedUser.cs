namespace ImageAspire.Hosting.LocalAws;

/// <summary>A confirmed user created at provisioning time.</summary>
/// <param name="Email">The user name (the pool signs in by email).</param>
/// <param name="Password">A permanent password.</param>
/// <param name="Groups">Logical ids of the template's <c>AWS::Cognito::UserPoolGroup</c> resources the user joins.</param>
public sealed record SeedUser(string Email, string Password, IReadOnlyList<string> Groups)
{
    /// <summary>A user in no group.</summary>
    public SeedUser(string email, string password)
        : this(email, password, [])
    {
    }
}
