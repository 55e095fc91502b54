using System.Text.Json;
using Microsoft.AspNetCore.Components;
using Microsoft.JSInterop;

namespace ImageAspire.Web.Services;

/// <summary>The signed-in user's tokens (kept in sessionStorage, so a reload keeps the session but a closed tab does not).</summary>
public sealed class AuthSession(CognitoClient cognito, IJSRuntime js, NavigationManager navigation)
{
    private const string StorageKey = "imageaspire.session";
    private IJSObjectReference? _module;
    private Tokens? _tokens;
    private Task? _loading;

    public string? Email { get; private set; }

    public bool IsSignedIn => _tokens is not null;

    public event Action? Changed;

    /// <summary>
    /// Reads the stored session once. Every caller awaits the same read: the layout and the page start together, and
    /// a page that went on before the read finished would think its user signed out (a reloaded detail page did).
    /// </summary>
    public Task LoadAsync() => _loading ??= ReadStoredSessionAsync();

    private async Task ReadStoredSessionAsync()
    {
        var json = await (await ModuleAsync()).InvokeAsync<string?>("storageGet", StorageKey);
        if (json is not null)
        {
            var stored = JsonSerializer.Deserialize<StoredSession>(json);
            (_tokens, Email) = (stored?.Tokens, stored?.Email);
        }
    }

    public async Task SignInAsync(string email, string password)
    {
        _tokens = await cognito.SignInAsync(email, password);
        Email = email;
        await SaveAsync();
    }

    public async Task SignOutAsync()
    {
        _tokens = null;
        Email = null;
        await SaveAsync();
        navigation.NavigateTo("signin");
    }

    /// <summary>A valid access token, refreshed when it expires within two minutes; null when the session is over.</summary>
    public async Task<string?> AccessTokenAsync()
    {
        await LoadAsync();
        if (_tokens is null)
        {
            return null;
        }

        if (_tokens.ExpiresAt - DateTimeOffset.UtcNow < TimeSpan.FromMinutes(2))
        {
            try
            {
                _tokens = await cognito.RefreshAsync(_tokens.RefreshToken);
                await SaveAsync();
            }
            catch (Exception ex) when (ex is CognitoException or HttpRequestException)
            {
                await SignOutAsync();
                return null;
            }
        }

        return _tokens.AccessToken;
    }

    /// <summary>The API said 401: the session is over, back to sign-in.</summary>
    public async Task ExpiredAsync() => await SignOutAsync();

    private async Task SaveAsync()
    {
        var json = _tokens is null ? null : JsonSerializer.Serialize(new StoredSession(_tokens, Email));
        await (await ModuleAsync()).InvokeVoidAsync("storageSet", StorageKey, json);
        Changed?.Invoke();
    }

    private async Task<IJSObjectReference> ModuleAsync() =>
        _module ??= await js.InvokeAsync<IJSObjectReference>("import", "./js/upload.js");

    private sealed record StoredSession(Tokens Tokens, string? Email);
}
