// The state a link reproduces, read from and written to the URL: `niveau`, the analysis
// parameters that differ from the defaults, `z` and `c` (the view), `sel`, `sl` (shortlist as
// `level:code,...`), `sort` and `lang`. Reading returns a patch for the store; writing replaces
// the history entry at most once per animation frame.

/** @typedef {import('./store.js').State} State */
/** @typedef {import('./store.js').AreaLevel} AreaLevel */

/** @type {AreaLevel[]} */
export const AREA_LEVELS = ['buurten', 'wijken'];
const SORT_KEYS = ['naam', 'score', 'categorie', 'rang'];

/**
 * @param {string | null} s
 * @returns {s is AreaLevel}
 */
export function isAreaLevel(s) {
  return AREA_LEVELS.includes(/** @type {AreaLevel} */ (s));
}

/** True for a query parameter of the analysis (walking distance, minimum, weights, thresholds).
 * @param {string} k */
export function isParam(k) {
  return k === 'walk_m' || k === 'min_participants' || k.startsWith('w_') || k.startsWith('t_');
}

/**
 * The state in a query string.
 * @param {string} search `location.search`
 * @returns {Omit<State, 'params'> & { params: Record<string, number> }}
 */
export function readURL(search) {
  const q = new URLSearchParams(search);
  /** @type {Record<string, number>} */
  const params = {};
  for (const [k, v] of q) {
    if (isParam(k)) {
      const n = Number(v);
      if (Number.isFinite(n)) params[k] = n;
    }
  }
  const niveau = q.get('niveau');
  const shortlist = (q.get('sl') || '').split(',').filter(Boolean).map((s) => {
    const [level, code] = s.split(':');
    return { level, code };
  }).filter((s) => isAreaLevel(s.level) && s.code);
  const z = Number(q.get('z'));
  const c = (q.get('c') || '').split(',').map(Number);
  const view = Number.isFinite(z) && q.get('z') !== null && c.length === 2 && c.every(Number.isFinite)
    ? { center: /** @type {[number, number]} */ ([c[0], c[1]]), zoom: z }
    : null;
  /** @type {State['sort']} */
  let sort = { key: 'rang', dir: 'asc' };
  const [key, dir] = (q.get('sort') || '').split(':');
  if (SORT_KEYS.includes(key)) sort = { key: /** @type {State['sort']['key']} */ (key), dir: dir === 'desc' ? 'desc' : dir === 'asc' ? 'asc' : key === 'rang' || key === 'naam' ? 'asc' : 'desc' };
  return {
    lang: q.get('lang') === 'en' ? 'en' : 'nl',
    scenario: (q.get('scenario') || '').slice(0, 60) || null,
    level: isAreaLevel(niveau) ? niveau : null,
    params,
    selected: q.get('sel') || null,
    shortlist: /** @type {import('./store.js').ShortlistItem[]} */ (shortlist),
    view,
    sort,
  };
}

/**
 * The query string of the state.
 * @param {State} state
 * @param {string} paramQuery the parameters that differ from the defaults
 * @param {import('./store.js').View | null} view the map's live view, else the URL's
 */
export function stateQuery(state, paramQuery, view) {
  const q = new URLSearchParams();
  if (state.level) q.set('niveau', state.level);
  for (const [k, v] of new URLSearchParams(paramQuery)) q.set(k, v);
  if (view) {
    q.set('z', view.zoom.toFixed(2));
    q.set('c', `${view.center[0].toFixed(5)},${view.center[1].toFixed(5)}`);
  } else if (state.view) {
    q.set('z', String(state.view.zoom));
    q.set('c', state.view.center.join(','));
  }
  if (state.selected) q.set('sel', state.selected);
  if (state.shortlist.length) q.set('sl', state.shortlist.map((s) => `${s.level}:${s.code}`).join(','));
  if (state.sort.key !== 'rang' || state.sort.dir !== 'asc') q.set('sort', `${state.sort.key}:${state.sort.dir}`);
  if (state.lang !== 'nl') q.set('lang', state.lang);
  if (state.scenario) q.set('scenario', state.scenario);
  return q.toString().replace(/%2C/g, ',').replace(/%3A/g, ':');
}

let urlPending = false;

/**
 * Replaces the URL with the state's, in the next animation frame (so a drag writes it once a frame).
 * @param {() => string} query the query string, computed when the frame comes
 */
export function writeURL(query) {
  if (urlPending) return;
  urlPending = true;
  requestAnimationFrame(() => {
    urlPending = false;
    history.replaceState(null, '', `${location.pathname}?${query()}`);
  });
}
