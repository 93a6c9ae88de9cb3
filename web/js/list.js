// The list of areas in view: the score rows whose bounding box meets the map's bounds, sorted
// by name, score, category or rank (the state's `sort`), best 50 shown. A click on a row selects
// the area.

import { t, num } from './i18n.js';
import { esc, badge } from './panel.js';
import { state, data, update } from './store.js';
import { $ } from './status.js';

/** @typedef {import('./store.js').ScoreRow} ScoreRow */

const LIST_MAX = 50;
/** @type {Record<string, number>} */
const CAT_ORDER = { geschikt: 0, kansrijk: 1, ongeschikt: 2 };

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
      case 'rang': return r.rang ?? Infinity;
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
  const visible = bounds
    ? data.rows.filter((r) => r.bbox && r.bbox[0] <= bounds[2] && r.bbox[2] >= bounds[0] && r.bbox[1] <= bounds[3] && r.bbox[3] >= bounds[1])
    : data.rows;
  const sorted = sortRows(visible).slice(0, LIST_MAX);
  $('#list-note').textContent = visible.length ? t('list.count', visible.length, sorted.length) : t('list.none');
  for (const th of document.querySelectorAll('#ranked th')) {
    const key = /** @type {HTMLElement} */ (th.querySelector('button')).dataset.sort;
    if (key === state.sort.key) th.setAttribute('aria-sort', state.sort.dir === 'asc' ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
  $('#ranked tbody').innerHTML = sorted.map((r) => `
    <tr data-code="${esc(r.code)}" class="${r.code === state.selected ? 'selected' : ''}">
      <td><button type="button" data-select="${esc(r.code)}">${esc(r.naam || r.code)}</button>
        <div class="note">${esc(data.gemeenteNames.get(r.gemeentecode ?? '') || r.gemeentecode || '')}</div></td>
      <td class="num">${r.score === null ? '—' : num(r.score)}</td>
      <td>${badge(r.categorie)}</td>
      <td class="num">${r.rang ? `${r.rang}/${r.rang_van}` : '—'}</td>
    </tr>`).join('');
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
