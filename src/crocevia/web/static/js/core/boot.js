// What the server rendered into the page for the JS: who is signed in, and the UI's translations.
// Both are JSON data blocks (not scripts), so the Content-Security-Policy can forbid inline code.

function readJSON(id, fallback) {
  const el = document.getElementById(id);
  if (!el) return fallback;
  try {
    return JSON.parse(el.textContent);
  } catch {
    return fallback;
  }
}

export const boot = readJSON('boot', {});
export const catalogue = readJSON('i18n', {});
