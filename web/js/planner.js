// The planner token (docs/privacy.md, Tiers): a planner pastes a token into a small field in
// the settings; it is kept in sessionStorage only (gone when the tab closes, never in the URL
// or a link) and sent as a bearer token with the page's own API and tile requests. With a
// token the server accepts, a store of real clients opens to the sliders and the clusters and
// sites layers; without one the page shows the public menu.

const KEY = 'atlas.plannerToken';

/** @returns {string} the token of this tab, or '' */
export function plannerToken() {
  try {
    return sessionStorage.getItem(KEY) || '';
  } catch {
    return '';
  }
}

/** @returns {Record<string, string>} the Authorization header for a same-origin request, if any */
export function authHeaders() {
  const token = plannerToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/**
 * MapLibre's transformRequest: the token goes with the service's own tile requests only.
 * @param {string} url
 * @returns {{ url: string, headers?: Record<string, string> }}
 */
export function withPlannerAuth(url) {
  const token = plannerToken();
  if (!token || !url.startsWith(`${location.origin}/ogc/`)) return { url };
  return { url, headers: { Authorization: `Bearer ${token}` } };
}

/**
 * Opens the tier for a planner: with a token the server accepts for clusters, the config's
 * tier becomes open (sliders, clusters, sites). A refused token is forgotten.
 * @param {{ tier?: { open: boolean } }} config
 * @returns {Promise<boolean>} true when this tab acts as a planner
 */
export async function applyPlanner(config) {
  const token = plannerToken();
  if (!token || !config.tier || config.tier.open) return false;
  const res = await fetch('/ogc/v1/collections/clusters/items?limit=1', { cache: 'no-store', headers: { Authorization: `Bearer ${token}` } }).catch(() => null);
  if (!res || !res.ok) {
    if (res && (res.status === 401 || res.status === 403)) sessionStorage.removeItem(KEY);
    return false;
  }
  config.tier = { ...config.tier, open: true };
  return true;
}

/**
 * Binds the token field: "Gebruiken" stores the token for this tab and reloads the page (the
 * parameters stay in the URL); "Wissen" forgets it.
 * @param {boolean} active this tab acts as a planner
 */
export function bindPlanner(active) {
  const form = /** @type {HTMLFormElement | null} */ (document.getElementById('planner-form'));
  if (!form) return;
  const input = /** @type {HTMLInputElement} */ (document.getElementById('planner-token'));
  const status = /** @type {HTMLElement} */ (document.getElementById('planner-status'));
  status.textContent = active ? 'Planner: schuifregelaars, clusters en plekken staan aan.' : '';
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    sessionStorage.setItem(KEY, token);
    input.value = '';
    location.reload();
  });
  document.getElementById('planner-clear')?.addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  });
}
