// Talks to the service's own API (same origin, nothing else). Every request goes through
// `request`, which turns network failures, 503 (still loading) and problem+json answers into an
// ApiError with a kind the page can show in plain words.

export class ApiError extends Error {
  constructor(kind, status, problem) {
    super(problem?.detail || problem?.title || kind);
    this.kind = kind; // 'down' | 'loading' | 'problem'
    this.status = status;
    this.problem = problem;
  }
}

export async function request(url, options = {}) {
  let res;
  try {
    res = await fetch(url, { cache: 'no-store', ...options });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError('down', 0, null);
  }
  if (res.ok) return res;
  let problem = null;
  try {
    problem = await res.json();
  } catch {
    problem = { title: res.statusText, detail: `HTTP ${res.status}` };
  }
  throw new ApiError(res.status === 503 ? 'loading' : 'problem', res.status, problem);
}

export async function getJSON(url, options) {
  return (await request(url, options)).json();
}

/** The analysis parameters as a query string, leaving out the ones at their default. */
export function paramQuery(params, defaults) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && Number(v) !== Number(defaults[k])) q.set(k, String(v));
  }
  return q.toString();
}

export function withQuery(path, query) {
  if (!query) return path;
  return path + (path.includes('?') ? '&' : '?') + query;
}
