/**
 * Where the console's API token comes from: what the person pasted (kept in
 * localStorage), else the dev user token the server puts in the page on the
 * embedded defaults (a <meta> tag; never present on a configured deployment).
 */
const KEY = 'genjob.console.token';

export function devToken(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="genjob-dev-token"]')?.content ?? '';
}

export function initialToken(): string {
  try {
    return localStorage.getItem(KEY) ?? devToken();
  } catch {
    return devToken();
  }
}

export function saveToken(token: string): void {
  try {
    // The dev token needs no saving: the page brings it; saving it would outlive a reset of the data directory.
    if (token && token !== devToken()) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    // Private mode without storage: the token lasts for this page only.
  }
}
