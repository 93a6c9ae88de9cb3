// What changed: after a settings change, how many areas changed category (▲ better, ▼ worse,
// also marked in the list); a banner while the settings differ from the defaults, with "terug
// naar standaard", "kopieer link" and a scenario name (kept in the URL as `scenario`); and the
// side-by-side comparison of the standard settings and the scenario for the level on the map
// (areas per category and the best five, from `/api/v1/scores/{level}` with each set).

import { t } from './i18n.js';
import { esc, badge } from './panel.js';
import { getJSON, withQuery } from './api.js';
import { state, data, update } from './store.js';
import { $ } from './status.js';

/** @type {Record<string, number>} lower is better */
const CAT_ORDER = { geschikt: 0, kansrijk: 1, 'onvoldoende gegevens': 2, ongeschikt: 3 };
const CATS = ['geschikt', 'kansrijk', 'onvoldoende gegevens', 'ongeschikt'];

/** @typedef {import('./store.js').ScoreRow} ScoreRow */

/**
 * The areas whose category differs between `before` and `after`: code -> 'up' (better) or 'down'.
 * @param {ScoreRow[]} before
 * @param {ScoreRow[]} after
 * @returns {Map<string, 'up' | 'down'>}
 */
export function categoryChanges(before, after) {
  const was = new Map(before.map((r) => [r.code, r.categorie]));
  /** @type {Map<string, 'up' | 'down'>} */
  const out = new Map();
  for (const r of after) {
    if (!was.has(r.code)) continue;
    const a = CAT_ORDER[was.get(r.code) ?? ''] ?? 4;
    const b = CAT_ORDER[r.categorie ?? ''] ?? 4;
    if (a !== b) out.set(r.code, b < a ? 'up' : 'down');
  }
  return out;
}

/**
 * Records the changes of a settings change and shows the line above the list.
 * @param {ScoreRow[]} before
 * @param {ScoreRow[]} after
 */
export function noteChanges(before, after) {
  data.changes = categoryChanges(before, after);
  let up = 0;
  for (const v of data.changes.values()) if (v === 'up') up++;
  const down = data.changes.size - up;
  $('#changes').textContent = t('changes.line', data.changes.size, state.level, up, down);
}

/** Clears the line (a new level: nothing to compare with). */
export function clearChanges() {
  data.changes = new Map();
  $('#changes').textContent = '';
}

/**
 * The parameters that differ from the defaults.
 * @returns {string[]}
 */
function differing() {
  return Object.keys(state.params).filter((k) => k in data.defaults && state.params[k] !== data.defaults[k]);
}

/** Shows or hides the banner of non-standard settings. */
export function renderBanner() {
  const n = differing().length;
  const banner = $('#custom-banner');
  banner.hidden = n === 0;
  if (!n) {
    $('#compare-scenario-out').innerHTML = '';
    return;
  }
  $('#custom-text').textContent = state.scenario ? t('banner.scenario', state.scenario, n) : t('banner.custom', n);
  const input = /** @type {HTMLInputElement} */ ($('#scenario-name'));
  if (document.activeElement !== input) input.value = state.scenario || '';
}

/**
 * The comparison: standard settings against the current ones, for the level on the map.
 * @param {string} query the current parameters (those that differ from the defaults)
 */
export async function compareScenario(query) {
  const level = state.level;
  const out = $('#compare-scenario-out');
  out.setAttribute('aria-busy', 'true');
  try {
    /** @param {{ fields: string[], rows: unknown[][] }} a @returns {ScoreRow[]} */
    const rows = (a) => a.rows.map((r) => /** @type {ScoreRow} */ (Object.fromEntries(a.fields.map((k, i) => [k, r[i]]))));
    const [std, sc] = await Promise.all([getJSON(`/api/v1/scores/${level}`), getJSON(withQuery(`/api/v1/scores/${level}`, query))]);
    const cols = [rows(std), rows(sc)];
    /** @param {ScoreRow[]} rs */
    const best = (rs) => rs.filter((r) => r.score !== null).sort((a, b) => (CAT_ORDER[a.categorie ?? ''] ?? 4) - (CAT_ORDER[b.categorie ?? ''] ?? 4) || (b.score ?? 0) - (a.score ?? 0)).slice(0, 5);
    const name = state.scenario || t('scenario.unnamed');
    const head = `<tr><th scope="col"></th><th scope="col">${esc(t('scenario.standard'))}</th><th scope="col">${esc(name)}</th></tr>`;
    const counts = CATS.map((c) => `<tr data-cat="${esc(c)}"><th scope="row">${badge(c)}</th>${cols.map((rs) => `<td class="num">${rs.filter((r) => r.categorie === c).length}</td>`).join('')}</tr>`).join('');
    const tops = [0, 1, 2, 3, 4].map((i) => `<tr><th scope="row">${i + 1}</th>${cols.map((rs) => { const r = best(rs)[i]; return `<td>${r ? esc(r.naam || r.code) : '—'}</td>`; }).join('')}</tr>`).join('');
    out.innerHTML = `<table class="scenario-compare" data-level="${esc(level)}"><caption>${esc(t('scenario.caption', level))}</caption><thead>${head}</thead><tbody>${counts}</tbody><tbody>${tops}</tbody></table>`;
  } catch (e) {
    out.textContent = String(e instanceof Error ? e.message : e);
  } finally {
    out.removeAttribute('aria-busy');
  }
}

/**
 * Wires the banner.
 * @param {{ query: () => string }} deps
 */
export function bindChanges({ query }) {
  $('#banner-reset').addEventListener('click', () => { $('#reset').click(); update({ scenario: null }); });
  $('#banner-copy').addEventListener('click', async () => {
    const done = $('#banner-copied');
    try {
      await navigator.clipboard.writeText(location.href);
      done.textContent = t('banner.copied');
    } catch {
      done.textContent = t('banner.copyfailed', location.href);
    }
  });
  const input = /** @type {HTMLInputElement} */ ($('#scenario-name'));
  input.addEventListener('change', () => update({ scenario: input.value.trim() || null }));
  $('#compare-scenario').addEventListener('click', () => {
    update({ scenario: input.value.trim() || state.scenario });
    compareScenario(query());
  });
}
