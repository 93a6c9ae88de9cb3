// The list of areas: those in view (the score rows whose bounding box meets the map's bounds,
// best 50) or all areas of one gemeente (with a CSV of them), sorted by name, score, category
// or rank (the state's `sort`; rank by default, which is the category first and then the score,
// as the API ranks). Each row shows the participant bucket and the completeness, and says why a
// high score is not `geschikt`. A click on a row selects the area.

import { t, num, bucketText } from './i18n.js';
import { esc, badge } from './panel.js';
import { state, data, update } from './store.js';
import { $ } from './status.js';
import { download } from './export.js';

/** @typedef {import('./store.js').ScoreRow} ScoreRow */

const LIST_MAX = 50;
/** @type {Record<string, number>} */
const CAT_ORDER = { geschikt: 0, kansrijk: 1, 'onvoldoende gegevens': 2, ongeschikt: 3 };

/**
 * The rows in `list` in the state's order.
 * @param {ScoreRow[]} list
 */
export function sortRows(list) {
  const { key, dir } = state.sort;
  const sign = dir === 'asc' ? 1 : -1;
  /** @param {ScoreRow} r @returns {string | number} */
  const val = (r) => {
    switch (key) {
      case 'naam': return r.naam || '';
      case 'categorie': return CAT_ORDER[r.categorie ?? ''] ?? 3;
      // The API's rank order, across gemeenten: category first, then score.
      case 'rang': return (CAT_ORDER[r.categorie ?? ''] ?? 4) * 1000 - (r.score ?? -1);
      default: return r.score ?? -Infinity;
    }
  };
  return list.slice().sort((a, b) => {
    const va = val(a);
    const vb = val(b);
    const c = typeof va === 'string' ? va.localeCompare(String(vb), 'nl') : va - Number(vb);
    return c * sign || (b.score ?? -1) - (a.score ?? -1) || a.code.localeCompare(b.code);
  });
}

/**
 * Renders the list of the rows in `bounds` (all rows without a map).
 * @param {[number, number, number, number] | null} bounds west, south, east, north
 */
export function renderList(bounds) {
  fillGemeenten();
  const gm = data.listGemeente;
  const visible = gm
    ? data.rows.filter((r) => r.gemeentecode === gm)
    : bounds
      ? data.rows.filter((r) => r.bbox && r.bbox[0] <= bounds[2] && r.bbox[2] >= bounds[0] && r.bbox[1] <= bounds[3] && r.bbox[3] >= bounds[1])
      : data.rows;
  const sorted = gm ? sortRows(visible) : sortRows(visible).slice(0, LIST_MAX);
  $('#list-note').textContent = gm
    ? t('list.gemeente', visible.length, data.gemeenteNames.get(gm) || gm)
    : visible.length ? t('list.count', visible.length, sorted.length) : t('list.none');
  $('#list-csv').hidden = !gm;
  for (const th of document.querySelectorAll('#ranked th')) {
    const key = th.querySelector('button')?.dataset.sort;
    if (key === state.sort.key) th.setAttribute('aria-sort', state.sort.dir === 'asc' ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
  $('#ranked tbody').innerHTML = sorted.map((r) => `
    <tr data-code="${esc(r.code)}" class="${r.code === state.selected ? 'selected' : ''}">
      <td><button type="button" data-select="${esc(r.code)}">${esc(r.naam || r.code)}</button>${marker(r.code)}
        <div class="note">${esc(data.gemeenteNames.get(r.gemeentecode ?? '') || r.gemeentecode || '')}</div></td>
      <td class="num">${r.score === null ? '—' : num(r.score)}</td>
      <td>${badge(r.categorie)}${why(r) ? `<div class="note" data-why>${esc(why(r))}</div>` : ''}</td>
      <td data-field="deelnemers">${esc(bucket(r.deelnemers))}</td>
      <td class="num" data-field="volledigheid">${r.volledigheid === null || r.volledigheid === undefined ? '—' : `${Math.round(r.volledigheid * 100)}%`}</td>
      <td class="num">${r.rang ? `${r.rang}/${r.rang_van}` : '—'}</td>
    </tr>`).join('');
}

/**
 * A participant bucket in words ("meer dan 12", "minder dan 5"; "5-8" as it is).
 * @param {string | null | undefined} b
 */
export function bucket(b) {
  return bucketText(b);
}

/**
 * Why a row's category is not what its score alone suggests.
 * @param {ScoreRow} r
 */
function why(r) {
  const tg = state.params.t_geschikt ?? data.defaults.t_geschikt ?? 60;
  if (r.categorie === 'kansrijk' && r.score !== null && r.score >= tg) return t('list.gate');
  if (r.categorie === 'onvoldoende gegevens') return t('list.incomplete');
  return '';
}

/**
 * ▲ or ▼ when the last settings change moved the area's category.
 * @param {string} code
 */
function marker(code) {
  const c = data.changes.get(code);
  if (!c) return '';
  return ` <span class="change ${c}" data-change="${c}" role="img" aria-label="${esc(t(`change.${c}`))}" title="${esc(t(`change.${c}`))}">${c === 'up' ? '▲' : '▼'}</span>`;
}

/** Fills the gemeente choice with the gemeenten of the rows (once they and their names are in). */
function fillGemeenten() {
  const sel = /** @type {HTMLSelectElement} */ ($('#list-gemeente'));
  const codes = [...new Set(data.rows.map((r) => r.gemeentecode).filter((c) => !!c))];
  const key = codes.join(',') + data.gemeenteNames.size;
  if (sel.dataset.key === key) return;
  sel.dataset.key = key;
  const named = codes.map((c) => [c, data.gemeenteNames.get(String(c)) || String(c)]).sort((a, b) => String(a[1]).localeCompare(String(b[1]), 'nl'));
  const first = /** @type {HTMLOptionElement} */ (sel.options[0]);
  sel.replaceChildren(first, ...named.map(([c, n]) => {
    const o = document.createElement('option');
    o.value = String(c);
    o.textContent = String(n);
    return o;
  }));
  sel.value = data.listGemeente;
}

/** The list of one gemeente as CSV (Dutch spreadsheet conventions, as the shortlist's). */
export function gemeenteCSV() {
  const gm = data.listGemeente;
  const rows = sortRows(data.rows.filter((r) => r.gemeentecode === gm));
  /** @param {unknown} v */
  const cell = (v) => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number') return String(v).replace('.', ',');
    const s2 = String(v);
    return /[;"\n\r]/.test(s2) ? `"${s2.replace(/"/g, '""')}"` : s2;
  };
  const cols = ['code', 'naam', 'gemeentecode', 'score', 'categorie', 'rang', 'rang_van', 'deelnemers', 'volledigheid'];
  const lines = [cols.join(';'), ...rows.map((r) => cols.map((c) => cell(/** @type {Record<string, unknown>} */ (r)[c])).join(';'))];
  return '\ufeff' + lines.join('\r\n') + '\r\n';
}

/** Marks the selected row without rendering the list again. */
export function markSelected() {
  for (const tr of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#ranked tbody tr'))) {
    tr.classList.toggle('selected', tr.dataset.code === state.selected);
  }
}

/**
 * Wires the sort buttons (to the store) and the rows (to `onSelect`).
 * @param {(code: string) => void} onSelect
 */
export function bindList(onSelect) {
  const sel = /** @type {HTMLSelectElement} */ ($('#list-gemeente'));
  sel.addEventListener('change', () => {
    data.listGemeente = sel.value;
    renderList(null);
  });
  $('#list-csv').addEventListener('click', () => {
    download(`${state.level}-${data.listGemeente}.csv`, gemeenteCSV(), 'text/csv;charset=utf-8');
  });
  for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll('#ranked th button'))) {
    b.addEventListener('click', () => {
      const key = /** @type {import('./store.js').SortKey} */ (b.dataset.sort);
      update({
        sort: state.sort.key === key
          ? { key, dir: state.sort.dir === 'asc' ? 'desc' : 'asc' }
          : { key, dir: key === 'naam' || key === 'rang' ? 'asc' : 'desc' },
      });
    });
  }
  $('#ranked tbody').addEventListener('click', (e) => {
    const tr = /** @type {HTMLElement} */ (e.target).closest('tr[data-code]');
    if (tr instanceof HTMLElement && tr.dataset.code) onSelect(tr.dataset.code);
  });
}
