// Talks to the service's own API (same origin, nothing else). Every request goes through
// `request`, which turns network failures, 503 (still loading) and problem+json answers into an
// ApiError with a kind the page can show in plain words.

import { authHeaders } from './planner.js';

/** @typedef {{ title?: string, detail?: string, status?: number, type?: string }} Problem */

export class ApiError extends Error {
  /**
   * @param {'down' | 'loading' | 'problem'} kind
   * @param {number} status the HTTP status (0 when the server could not be reached)
   * @param {Problem | null} problem the server's problem+json answer
   */
  constructor(kind, status, problem) {
    super(problem?.detail || problem?.title || kind);
    this.kind = kind;
    this.status = status;
    this.problem = problem;
  }
}

/**
 * @param {string} url
 * @param {RequestInit} [options]
 * @returns {Promise<Response>} an answer with a 2xx status; anything else is an ApiError
 */
export async function request(url, options = {}) {
  let res;
  try {
    // A planner's token (sessionStorage, web/js/planner.js) goes with every request to the API.
    res = await fetch(url, { cache: 'no-store', ...options, headers: { ...authHeaders(), ...(options.headers || {}) } });
  } catch (e) {
    if (e instanceof Error && e.name === 'AbortError') throw e;
    throw new ApiError('down', 0, null);
  }
  if (res.ok) return res;
  /** @type {Problem} */
  let problem;
  try {
    problem = await res.json();
  } catch {
    problem = { title: res.statusText, detail: `HTTP ${res.status}` };
  }
  throw new ApiError(res.status === 503 ? 'loading' : 'problem', res.status, problem);
}

/**
 * @param {string} url
 * @param {RequestInit} [options]
 * @returns {Promise<any>} the JSON answer (its shape is the caller's to know)
 */
export async function getJSON(url, options) {
  return (await request(url, options)).json();
}

/**
 * The analysis parameters as a query string, leaving out the ones at their default.
 * @param {Record<string, number>} params
 * @param {Record<string, number>} defaults
 */
export function paramQuery(params, defaults) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && Number(v) !== Number(defaults[k])) q.set(k, String(v));
  }
  return q.toString();
}

/**
 * @param {string} path
 * @param {string} query
 */
export function withQuery(path, query) {
  if (!query) return path;
  return path + (path.includes('?') ? '&' : '?') + query;
}
