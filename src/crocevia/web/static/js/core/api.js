// The REST API as the browser calls it: the session cookie goes along, writes echo the CSRF
// token, and errors arrive as problem+json with a human-readable `detail`.
import { boot } from './boot.js';
import { t } from './i18n.js';

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code || '';
    this.rule = problem.rule || '';
    this.field = problem.field || '';
    this.problem = problem;
  }
}

const SAFE = new Set(['GET', 'HEAD']);

export async function api(path, { method = 'GET', body, form, headers = {} } = {}) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json', ...headers } };
  if (!SAFE.has(method)) init.headers['X-CSRF-Token'] = boot.csrf || '';
  if (form) {
    init.body = form;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch(`/api/v1${path}`, init);
  } catch {
    throw new ApiError(0, { detail: t('The server cannot be reached. Check your connection.') });
  }
  if (resp.status === 401 && boot.me) {
    // The session ended (signed out elsewhere, expired): back to the sign-in page, then here again.
    const here = location.pathname + location.search;
    location.assign(`/ui/login?next=${encodeURIComponent(here)}`);
    throw new ApiError(401, { detail: t('Your session has ended. Please sign in again.') });
  }
  if (resp.status === 204) return null;
  const type = resp.headers.get('content-type') || '';
  const data = type.includes('json') ? await resp.json() : await resp.text();
  if (!resp.ok) {
    throw new ApiError(resp.status, typeof data === 'object' && data ? data : { detail: String(data) });
  }
  return data;
}

export function query(params) {
  const qs = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== '') qs.set(key, value);
  }
  const text = qs.toString();
  return text ? `?${text}` : '';
}
