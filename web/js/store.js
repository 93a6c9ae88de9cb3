// The page's state and its one render step. `state` holds what a link reproduces (level,
// analysis parameters, view, selection, shortlist, sort, language: url.js reads and writes it);
// `data` holds what the server sent for it (score rows, names). `update` changes state and
// schedules one render in a microtask; subscribers hear which keys changed, so several changes
// in one event handler cost one render. No framework: each module renders its own part.

/** @typedef {'buurten' | 'wijken'} AreaLevel */
/** @typedef {'naam' | 'score' | 'categorie' | 'rang'} SortKey */
/** @typedef {{ level: AreaLevel, code: string }} ShortlistItem */
/** @typedef {{ center: [number, number], zoom: number }} View */

/**
 * @typedef {object} State
 * @property {AreaLevel | null} level the areas on the map (null until the configuration says)
 * @property {Record<string, number>} params the analysis parameters (all of them, once known)
 * @property {string | null} selected the code of the area in the panel
 * @property {ShortlistItem[]} shortlist
 * @property {{ key: SortKey, dir: 'asc' | 'desc' }} sort the list's order
 * @property {View | null} view the view from the URL (the map keeps the live one)
 * @property {'nl' | 'en'} lang
 * @property {string | null} scenario the name of the current settings (null: unnamed)
 */

/** @typedef {keyof State | 'rows' | 'names' | 'view-moved'} Change */

/**
 * One score row of `/api/v1/scores/{level}`, fields named.
 * @typedef {object} ScoreRow
 * @property {string} code
 * @property {string} [naam]
 * @property {string} [gemeentecode]
 * @property {number | null} score
 * @property {string | null} categorie
 * @property {number | null} [rang]
 * @property {number | null} [rang_van]
 * @property {string | null} [deelnemers] the participant bucket ("<5", "5-8", "9-12", ">12")
 * @property {number | null} [volledigheid] the known share of the weight, 0-1
 * @property {[number, number, number, number] | null} [bbox]
 */

/** @type {State} */
export const state = {
  level: null,
  params: {},
  selected: null,
  shortlist: [],
  sort: { key: 'rang', dir: 'asc' },
  view: null,
  lang: 'nl',
  scenario: null,
};

export const data = {
  /** @type {ScoreRow[]} the scores of `state.level` */
  rows: [],
  /** @type {Map<string, ScoreRow>} */
  rowsByCode: new Map(),
  /** @type {Map<string, string>} gemeentecode -> naam */
  gemeenteNames: new Map(),
  /** @type {Map<string, string>} "level:code" -> naam, for the shortlist */
  names: new Map(),
  /** @type {Map<string, 'up' | 'down'>} areas whose category the last settings change moved */
  changes: new Map(),
  /** @type {string} the gemeente whose areas the list shows (empty: the areas in view) */
  listGemeente: '',
  /** @type {Record<string, number>} the analysis defaults from the configuration */
  defaults: {},
};

/** @type {Set<(changed: Set<Change>) => void>} */
const subscribers = new Set();
/** @type {Set<Change>} */
let pending = new Set();
let scheduled = false;

/**
 * Calls `fn` after every render step with the keys that changed.
 * @param {(changed: Set<Change>) => void} fn
 * @returns {() => void} unsubscribes
 */
export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}

/**
 * Changes the state and schedules a render.
 * @param {Partial<State>} patch
 */
export function update(patch) {
  Object.assign(state, patch);
  changed(.../** @type {Change[]} */ (Object.keys(patch)));
}

/**
 * Marks keys as changed (for data, or state mutated in place) and schedules a render.
 * @param {...Change} keys
 */
export function changed(...keys) {
  for (const k of keys) pending.add(k);
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(render);
}

/** Runs the render step now: every subscriber once with everything that changed. */
export function render() {
  scheduled = false;
  const keys = pending;
  pending = new Set();
  if (!keys.size) return;
  for (const fn of subscribers) fn(keys);
}
