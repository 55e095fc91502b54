// Page-wide shortcut keys for the detail page (←, →, Esc), ignored while the user types in a field or holds a
// modifier (browser and screen-reader shortcuts keep working).
export function listen(dotnet, keys) {
  const handler = e => {
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || !keys.includes(e.key)) return;
    if (e.target.closest && e.target.closest('input, textarea, select, [contenteditable]')) return;
    e.preventDefault();
    dotnet.invokeMethodAsync('OnShortcut', e.key);
  };
  document.addEventListener('keydown', handler);
  return { dispose: () => document.removeEventListener('keydown', handler) };
}
