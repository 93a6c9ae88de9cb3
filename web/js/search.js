// The search box, an ARIA combobox (the input) controlling a named listbox: `GET /api/v1/search?q=` 200 ms after the last key, a listbox of results
// (arrow keys, Enter, Escape, click), and the chosen result handed to `onChoose`.

import { t } from './i18n.js';
import { getJSON } from './api.js';
import { esc } from './panel.js';
import { $, explain } from './status.js';

/**
 * One result of `/api/v1/search`.
 * @typedef {{ collection: 'gemeenten' | 'wijken' | 'buurten', code: string, naam: string,
 *   gemeentenaam?: string, bbox?: [number, number, number, number] }} SearchResult
 */

/** @type {ReturnType<typeof setTimeout> | undefined} */
let timer;
let seq = 0;
/** @type {SearchResult[] | null} */
let results = [];
let active = -1;

/** @param {SearchResult[] | null} list the results, or null to close the list */
function show(list) {
  const ul = $('#search-results');
  const input = $('#search-q');
  results = list;
  active = -1;
  if (!list) {
    ul.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    return;
  }
  ul.innerHTML = list.length
    ? list.map((r, i) => `<li role="option" id="sr-${i}" data-i="${i}" aria-selected="false">${esc(r.naam)} <span class="kind">${esc(t(`kind.${r.collection}`))} · ${esc(r.code)}${r.gemeentenaam && r.collection !== 'gemeenten' ? ` · ${esc(r.gemeentenaam)}` : ''}</span></li>`).join('')
    : `<li role="option" class="note" aria-disabled="true" aria-selected="false">${esc(t('search.none'))}</li>`;
  ul.hidden = false;
  input.setAttribute('aria-expanded', 'true');
}

/** @param {string} text */
async function run(text) {
  const mine = ++seq;
  if (!text.trim()) return show(null);
  try {
    const data = await getJSON(`/api/v1/search?q=${encodeURIComponent(text.trim())}&limit=10`);
    if (mine === seq) show(data.results);
  } catch (e) {
    if (mine === seq) {
      show([]);
      $('#search-results').innerHTML = `<li role="option" class="note" aria-disabled="true" aria-selected="false">${esc(t('search.failed'))}: ${esc(explain(e))}</li>`;
    }
  }
}

/**
 * Wires the search box.
 * @param {(r: SearchResult) => void} onChoose
 */
export function bindSearch(onChoose) {
  const input = /** @type {HTMLInputElement} */ ($('#search-q'));
  /** @param {SearchResult} r */
  const choose = (r) => {
    show(null);
    input.value = r.naam;
    onChoose(r);
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => run(input.value), 200);
  });
  input.addEventListener('keydown', (e) => {
    const n = results?.length || 0;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!n) return;
      e.preventDefault();
      active = (active + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      for (const li of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#search-results li[role="option"]'))) {
        li.setAttribute('aria-selected', String(Number(li.dataset.i) === active));
      }
      input.setAttribute('aria-activedescendant', `sr-${active}`);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      if (results && n) choose(results[Math.max(0, active)]);
    } else if (e.key === 'Escape') {
      show(null);
    }
  });
  $('#search').addEventListener('submit', (e) => e.preventDefault());
  $('#search-results').addEventListener('click', (e) => {
    const li = /** @type {HTMLElement} */ (e.target).closest('li[data-i]');
    if (li instanceof HTMLElement && results) choose(results[Number(li.dataset.i)]);
  });
  document.addEventListener('click', (e) => {
    if (!(/** @type {HTMLElement} */ (e.target).closest('#search'))) show(null);
  });
}
