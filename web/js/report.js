// The printable report of a shortlist for a steering group: page 1 a map drawn here as SVG from
// the API's geometries (numbered areas with their names, a legend and a scale bar), then the
// comparison table, per area the score, category, completeness, robustness, nearest meeting
// place, the explanation and an editable "afweging", the settings in words, the sources and the
// date; page numbers and "Bron: CBS, Kadaster" in the page margins (report.css). Everything
// comes from the URL (the main page's), so a shared link gives the same report: nothing is
// taken from the tab's storage.

import { t, setLang, translatePage, num, bucketText, unknownFigure, bucketsInWords } from './i18n.js';
import { ApiError, getJSON, paramQuery } from './api.js';
import { shortlistFeatures } from './export.js';
import { esc, badge, criterionReason, rankText } from './panel.js';
import { setLabels, criterionTitle, criterionKeys, figureFields, figureLabel } from './labels.js';
import { COLOURS } from './map.js';
import { readURL } from './url.js';
import { $ } from './status.js';
import { byDistance } from './nearby.js';

/** @typedef {import('./panel.js').AreaFeature} AreaFeature */
/** @typedef {[number, number]} Position */

/**
 * @param {number[]} lonlat degrees
 * @returns {Position} radians, Web Mercator (unit sphere)
 */
function mercator([lon, lat]) {
  const y = Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360));
  return [lon * Math.PI / 180, y];
}

/**
 * @param {GeoJSON.Geometry | null} geom
 * @returns {number[][][]}
 */
function rings(geom) {
  if (!geom) return [];
  if (geom.type === 'Polygon') return geom.coordinates;
  if (geom.type === 'MultiPolygon') return geom.coordinates.flat();
  return [];
}

/**
 * An SVG outline map of the features, numbered as in the table.
 * @param {AreaFeature[]} features
 */
function outlineSVG(features) {
  const pts = features.flatMap((f) => rings(f.geometry).flat().map(mercator));
  if (!pts.length) return '';
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const W = 800;
  const span = Math.max(x1 - x0, y1 - y0) || 1e-6;
  const s = (W - 40) / span;
  const H = Math.round((y1 - y0) * s + 40);
  const px = (/** @type {Position} */ [x, y]) => [20 + (x - x0) * s, H - 20 - (y - y0) * s];
  // A scale bar of a round length, about a fifth of the width (metres per unit at mid latitude).
  const lat = (2 * Math.atan(Math.exp((y0 + y1) / 2)) - Math.PI / 2);
  const mPerPx = (6371008.8 * Math.cos(lat)) / s;
  const target = (W / 5) * mPerPx;
  const pow = 10 ** Math.floor(Math.log10(target));
  const len = [1, 2, 5, 10].map((k) => k * pow).filter((v) => v <= target).pop() || pow;
  const barPx = len / mPerPx;
  const lenText = len >= 1000 ? `${num(len / 1000)} km` : `${num(len)} m`;
  const scale = `<g class="scale" transform="translate(20 ${H - 8})"><rect x="0" y="-6" width="${barPx.toFixed(1)}" height="6" fill="#1d2430"/>
    <text x="${(barPx + 6).toFixed(1)}" y="0" font-size="12">${esc(lenText)}</text></g>`;
  const shapes = features.map((f, i) => {
    const d = rings(f.geometry).map((r) => 'M' + r.map((c) => px(mercator(c)).map((v) => v.toFixed(1)).join(',')).join('L') + 'Z').join('');
    const all = rings(f.geometry).flat().map((c) => px(mercator(c)));
    const cx = all.reduce((a, p) => a + p[0], 0) / all.length;
    const cy = all.reduce((a, p) => a + p[1], 0) / all.length;
    const fill = COLOURS[/** @type {keyof typeof COLOURS} */ (f.properties.categorie ?? 'geen')] || COLOURS.geen;
    return `<path d="${d}" fill="${fill}" fill-opacity="0.6" stroke="#1d2430" stroke-width="1.5"><title>${esc(f.properties.naam)}</title></path>
      <circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="11" fill="#fff" stroke="#1d2430"/>
      <text x="${cx.toFixed(1)}" y="${(cy + 4).toFixed(1)}" text-anchor="middle" font-size="12" font-weight="700">${i + 1}</text>
      <text class="area-name" x="${cx.toFixed(1)}" y="${(cy + 26).toFixed(1)}" text-anchor="middle" font-size="13" paint-order="stroke" stroke="#fff" stroke-width="3">${esc(f.properties.naam)}</text>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H + 16}" width="${W}" height="${H + 16}" role="img" aria-label="${esc(t('report.outline'))}">
    <rect width="100%" height="100%" fill="#f5f6f8"/>${shapes}${scale}</svg>`;
}

/** The legend under the report's map: the categories' colours. */
function legendHTML() {
  const cats = ['geschikt', 'kansrijk', 'onvoldoende gegevens', 'ongeschikt'];
  return `<ul class="report-legend">${cats.map((c) => `<li><span class="swatch" style="background:${COLOURS[/** @type {keyof typeof COLOURS} */ (c)] || COLOURS.geen}"></span>${esc(t(`cat.${c}`))}</li>`).join('')}</ul>`;
}

/** @param {number} m */
function distanceText(m) {
  if (m <= 0) return t('near.inside');
  if (m < 1000) return t('near.m', num(Math.round(m / 10) * 10));
  return t('near.km', num(Math.round(m / 100) / 10));
}

async function main() {
  const q = new URLSearchParams(location.search);
  const fromURL = readURL(location.search);
  setLang(fromURL.lang);
  translatePage();
  /** @type {HTMLAnchorElement} */ ($('#back')).href = `/?${q.toString()}`;
  $('#print').addEventListener('click', () => window.print());
  const status = $('#report-status');
  status.textContent = t('status.loading');
  try {
    const config = await getJSON('/web/config.json');
    setLabels(config);
    /** @type {Record<string, number>} */
    const defaults = { walk_m: config.defaults.walk_m, min_participants: config.defaults.min_participants, t_geschikt: config.defaults.t_geschikt, t_kansrijk: config.defaults.t_kansrijk };
    for (const w of config.weights) defaults[w.param] = w.default;
    const params = { ...defaults };
    for (const [k, v] of Object.entries(fromURL.params)) if (k in defaults) params[k] = v;
    const items = fromURL.shortlist;
    const date = new Date().toLocaleDateString(document.documentElement.lang === 'en' ? 'en-GB' : 'nl-NL', { day: 'numeric', month: 'long', year: 'numeric' });
    $('#report-meta').textContent = t('report.meta', date, items.length);
    // Parameters: every setting with its value, defaults marked.
    const label = (/** @type {string} */ k) => {
      if (k === 'walk_m') return t('walk.label');
      if (k === 'min_participants') return t('minp.label');
      if (k === 't_geschikt') return t('report.t_geschikt');
      if (k === 't_kansrijk') return t('report.t_kansrijk');
      const w = config.weights.find((/** @type {{ param: string, key: string }} */ x) => x.param === k);
      return w ? criterionTitle(w.key) : k;
    };
    $('#report-params').innerHTML = `<thead><tr><th scope="col">${esc(t('report.setting'))}</th><th scope="col">${esc(t('report.value'))}</th></tr></thead><tbody>` +
      Object.keys(defaults).map((k) => `<tr><th scope="row">${esc(label(k))}</th>
        <td>${esc(num(params[k]))}${k === 'walk_m' ? ' m' : ''}${params[k] === defaults[k] ? ` <span class="note">(${esc(t('report.default'))})</span>` : ''}</td></tr>`).join('') + '</tbody>';
    if (!items.length) {
      status.textContent = t('report.empty');
      return;
    }
    const features = await shortlistFeatures(items, paramQuery(params, defaults));
    const gm = new Map();
    try {
      const g = await getJSON('/api/v1/scores/gemeenten');
      for (const r of g.rows) gm.set(r[g.fields.indexOf('code')], r[g.fields.indexOf('naam')]);
    } catch { /* names are a nicety */ }
    /** @type {GeoJSON.FeatureCollection | null} */
    let places = null;
    try {
      places = await getJSON('/ogc/v1/collections/places/items?limit=10000');
    } catch { /* a closed or empty collection: no nearest place */ }
    $('#report-figure').innerHTML = outlineSVG(features) + legendHTML() + `<figcaption>${esc(t('report.outline'))}</figcaption>`;
    const head = features.map((f, i) => `<th scope="col">${i + 1}. ${esc(f.properties.naam)}<div class="note">${esc(f.properties.code)}</div></th>`).join('');
    /** @param {string} l @param {(p: AreaFeature['properties']) => string} fn */
    const row = (l, fn) => `<tr><th scope="row">${esc(l)}</th>${features.map((f) => `<td>${fn(f.properties)}</td>`).join('')}</tr>`;
    $('#report-table').innerHTML = `<table><thead><tr><td></td>${head}</tr></thead><tbody>
      ${row(t('col.score'), (p) => (p.score === null ? '—' : num(p.score)))}
      ${row(t('col.categorie'), (p) => badge(p.categorie))}
      ${row(t('col.rang'), (p) => esc(rankText(p, items.find((s) => s.code === p.code)?.level, gm.get(p.gemeentecode))))}
      ${row(t('panel.participants'), (p) => esc(p.deelnemers ? bucketText(p.deelnemers) : t('unknown.noclients')))}
      ${figureFields().map(([f, unit]) => row(figureLabel(f), (p) => esc(p[f] === null || p[f] === undefined ? unknownFigure(f, p.toelichting?.criteria) : num(p[f], unit)))).join('')}
      ${criterionKeys().map((key) => row(criterionTitle(key), (p) => {
        const c = p.toelichting?.criteria.find((x) => x.criterion === key);
        return !c || c.missing ? `<span class="missing">${esc(t('unknown'))}</span>` : num(c.contribution);
      })).join('')}
    </tbody></table>`;
    $('#report-explain').innerHTML = features.map((f, i) => {
      const p = f.properties;
      const level = items[i].level;
      const near = byDistance(places, f.geometry)[0];
      const stab = p.stabiliteit ? (p.stabiliteit === 'stabiel' ? t('panel.stabiel', Math.round((p.stabiliteit_aandeel ?? 0) * 100)) : t('panel.gevoelig', Math.round((p.stabiliteit_aandeel ?? 0) * 100))) : t('unknown');
      return `<div class="area-explain" data-code="${esc(p.code)}"><h3>${i + 1}. ${esc(p.naam)} (${esc(p.code)}): ${p.score === null ? '—' : num(p.score)} ${badge(p.categorie)}</h3>
        <dl class="area-facts">
          <dt>${esc(t('report.completeness'))}</dt><dd data-field="volledigheid">${esc(p.volledigheid === null || p.volledigheid === undefined ? t('unknown') : t('report.completeness.value', p.criteria_bekend ?? '', Math.round(p.volledigheid * 100)))}</dd>
          <dt>${esc(t('report.robustness'))}</dt><dd data-field="stabiliteit">${esc(stab)}</dd>
          <dt>${esc(t('report.nearest'))}</dt><dd data-field="nearest-place">${esc(near ? `${near.feature.properties?.naam ?? ''}${near.feature.properties?.soort ? ` (${near.feature.properties.soort})` : ''}, ${distanceText(near.m)}` : t('near.noplace'))}</dd>
        </dl>
        <ul>${(p.toelichting?.criteria || []).map((c) => `<li><strong>${esc(criterionTitle(c.criterion, c.label))}</strong>: ${esc(criterionReason(c, level))}</li>`).join('')}</ul>
        ${(p.toelichting?.notes || []).map((n) => `<p class="note">${esc(bucketsInWords(n))}</p>`).join('')}
        <h4 id="afweging-${i}">${esc(t('report.afweging'))}</h4>
        <div class="afweging" contenteditable="true" role="textbox" aria-multiline="true" aria-labelledby="afweging-${i}" data-placeholder="${esc(t('report.afweging.hint'))}"></div></div>`;
    }).join('');
    status.textContent = '';
    document.body.dataset.ready = 'true';
  } catch (e) {
    status.className = 'result-error';
    status.textContent = `${t('status.error')}: ${(e instanceof ApiError && e.problem?.detail) || (e instanceof Error ? e.message : String(e))}`;
  }
}

main();
