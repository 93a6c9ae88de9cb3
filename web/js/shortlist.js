// The shortlist: the list itself (state `shortlist`, names from `data.names`), the side-by-side
// comparison, the GeoJSON and CSV exports and the report page. The exports fetch the API's own
// items again with the current parameters (export.js).

import { t, num, bucketText, unknownFigure } from './i18n.js';
import { esc, badge } from './panel.js';
import { shortlistFeatures, featureCollection, toCSV, download } from './export.js';
import { criterionKeys, criterionTitle, figureFields, figureLabel } from './labels.js';
import { state, data, update } from './store.js';
import { $, setStatus, explain } from './status.js';

/** @typedef {import('./panel.js').AreaFeature} AreaFeature */

/**
 * @param {string} level
 * @param {string} code
 */
export function inShortlist(level, code) {
  return state.shortlist.some((s) => s.level === level && s.code === code);
}

/**
 * Adds the area to the shortlist, or takes it off.
 * @param {import('./store.js').AreaLevel} level
 * @param {string} code
 */
export function toggleShortlist(level, code) {
  update({
    shortlist: inShortlist(level, code)
      ? state.shortlist.filter((s) => !(s.level === level && s.code === code))
      : [...state.shortlist, { level, code }],
  });
}

/** The shortlist card, and the panel's shortlist button if the panel shows a listed area. */
export function renderShortlist() {
  $('#shortlist').innerHTML = state.shortlist.map((s, i) => `
    <li class="shortlist-item"><span>${esc(data.names.get(`${s.level}:${s.code}`) || s.code)} <span class="note">${esc(s.code)}</span></span>
      <button type="button" class="icon" data-remove="${i}" aria-label="${esc(t('shortlist.remove'))} ${esc(s.code)}">✕</button></li>`).join('');
  $('#shortlist-empty').hidden = state.shortlist.length > 0;
  $('#shortlist-actions').hidden = state.shortlist.length === 0;
  const btn = document.getElementById('panel-shortlist');
  if (btn && state.selected && state.level) {
    const on = inShortlist(state.level, state.selected);
    btn.textContent = t(on ? 'panel.remove' : 'panel.add');
    btn.setAttribute('aria-pressed', String(on));
  }
}

/**
 * @template T
 * @param {string} query
 * @param {(features: AreaFeature[]) => T} fn
 * @returns {Promise<T | null>}
 */
async function withShortlist(query, fn) {
  setStatus(t('shortlist.exporting'));
  try {
    const features = await shortlistFeatures(state.shortlist, query);
    setStatus('');
    return fn(features);
  } catch (e) {
    setStatus(explain(e), 'error');
    return null;
  }
}

function stamp() {
  return new Date().toISOString().slice(0, 10);
}

/** @param {string} query */
async function openCompare(query) {
  await withShortlist(query, (features) => {
    const head = features.map((f) => `<th scope="col">${esc(f.properties.naam)}<div class="note">${esc(f.properties.code)}</div></th>`).join('');
    /** @param {string} label @param {(p: AreaFeature['properties']) => string} fn */
    const row = (label, fn) => `<tr><th scope="row">${esc(label)}</th>${features.map((f) => `<td>${fn(f.properties)}</td>`).join('')}</tr>`;
    const crit = criterionKeys().map((key) => row(criterionTitle(key), (p) => {
      const c = p.toelichting?.criteria.find((x) => x.criterion === key);
      return !c || c.missing ? `<span class="missing">${esc(t('unknown'))}</span>` : num(c.contribution);
    })).join('');
    $('#compare-body').innerHTML = `<table class="compare"><thead><tr><td></td>${head}</tr></thead><tbody>
      ${row(t('col.score'), (p) => (p.score === null ? '—' : num(p.score)))}
      ${row(t('col.categorie'), (p) => badge(p.categorie))}
      ${row(t('col.rang'), (p) => (p.rang ? `${p.rang}/${p.rang_van}` : '—'))}
      ${row(t('panel.participants'), (p) => esc(p.deelnemers ? bucketText(p.deelnemers) : t('unknown.noclients')))}
      ${figureFields().map(([f, unit]) => row(figureLabel(f), (p) => esc(p[f] === null || p[f] === undefined ? unknownFigure(f, p.toelichting?.criteria) : num(p[f], unit)))).join('')}
      ${crit}
    </tbody></table>`;
    /** @type {HTMLDialogElement} */ ($('#compare-dialog')).showModal();
  });
}

/**
 * Wires the shortlist card.
 * @param {{ query: () => string, snapshot: () => Promise<string | null> }} ctx the current
 *   parameter query, and a PNG of the map for the report (null without a map)
 */
export function bindShortlist(ctx) {
  $('#shortlist').addEventListener('click', (e) => {
    const b = /** @type {HTMLElement} */ (e.target).closest('button[data-remove]');
    if (!(b instanceof HTMLElement)) return;
    const s = state.shortlist[Number(b.dataset.remove)];
    if (s) toggleShortlist(s.level, s.code);
  });
  $('#compare').addEventListener('click', () => openCompare(ctx.query()));
  $('#compare-close').addEventListener('click', () => /** @type {HTMLDialogElement} */ ($('#compare-dialog')).close());
  $('#export-geojson').addEventListener('click', () => withShortlist(ctx.query(), (features) => {
    const fc = featureCollection(features, { ...state.params });
    download(`buurtcirkel-shortlist-${stamp()}.geojson`, JSON.stringify(fc, null, 1), 'application/geo+json');
  }));
  $('#export-csv').addEventListener('click', () => withShortlist(ctx.query(), (features) => download(`buurtcirkel-shortlist-${stamp()}.csv`, toCSV(features), 'text/csv;charset=utf-8')));
  // The report draws its own map from the URL (a shared link gives the same report), so
  // nothing is handed over through the tab's storage.
  $('#report').addEventListener('click', () => {
    window.open(`/web/report.html?${new URLSearchParams(location.search).toString()}`, '_blank');
  });
}
