// The side panel of one area: score, category, rank in its gemeente, the explanation per
// criterion, key figures. Everything shown comes from the item the API returns
// (`/ogc/v1/collections/{level}/items/{code}`); a missing figure reads "onbekend (CBS geheim)",
// a missing criterion "onbekend: <cause>" (CBS: niet gepubliceerd, niet geladen, niet van
// toepassing); completeness and stability sit under the rank.

import { t, num, category, getLang, bucketText, unknownFigure, bucketsInWords } from './i18n.js';
import { criterionLabel, criterionTitle, figureFields, figureLabel } from './labels.js';

const LEVEL_NAME = {
  nl: { buurten: 'buurten', wijken: 'wijken', gemeenten: 'gemeenten' },
  en: { buurten: 'buurten', wijken: 'wijken', gemeenten: 'municipalities' },
};

/**
 * One criterion of an item's explanation (`toelichting.criteria`).
 * @typedef {object} CriterionExplanation
 * @property {string} criterion
 * @property {string} label
 * @property {string} reason
 * @property {number} weight
 * @property {number | string | boolean | { geschat: number } | null} [value] a figure, a
 *   participant bucket, a yes/no, or the participant estimate without client data
 * @property {string | null} [cause] why the value is missing ("CBS: niet gepubliceerd",
 *   "niet geladen", "niet van toepassing")
 * @property {number | null} [normalised]
 * @property {number | null} [contribution]
 * @property {boolean} [missing]
 * @property {string} [cause] why a missing criterion is missing (`ontbreekt`)
 */

/**
 * An area as the API's item endpoint returns it (the properties the page reads).
 * @typedef {{ type: 'Feature', id?: string, geometry: any, links?: unknown,
 *   properties: Record<string, any> & { code: string, naam: string, gemeentecode?: string,
 *   score: number | null, categorie: string | null, rang?: number | null, rang_van?: number | null,
 *   deelnemers?: string | null, afstandsmaat?: string,
 *   toelichting?: { criteria: CriterionExplanation[], notes?: string[], missing?: string[] } } }} AreaFeature
 */

/**
 * @param {unknown} s
 * @returns {string} the text with HTML's special characters escaped
 */
export function esc(s) {
  /** @type {Record<string, string>} */
  const entities = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  return String(s ?? '').replace(/[&<>"']/g, (c) => entities[c]);
}

/**
 * The plain-language explanation of one criterion in the current language.
 * @param {CriterionExplanation} c
 * @param {string} level
 */
export function criterionReason(c, level) {
  if (c.missing) return c.cause ? `${t('unknown.plain')}: ${t(`cause.${c.cause}`)}` : t('unknown');
  if (getLang() === 'nl') return bucketsInWords(c.reason);
  const pct = c.normalised === null || c.normalised === undefined ? null : Math.round(c.normalised * 100);
  const lv = LEVEL_NAME.en[/** @type {keyof typeof LEVEL_NAME.en} */ (level)] ?? level;
  switch (c.criterion) {
    case 'participants': return c.value && typeof c.value === 'object' && c.value.geschat !== undefined
      ? `about ${num(c.value.geschat)} potential participants within walking distance (estimated from CBS figures)`
      : `${c.value} potential participants within walking distance`;
    case 'meeting_place': return c.value ? 'a meeting place within walking distance' : 'no meeting place within walking distance';
    case 'no_existing_circle': return c.value ? 'no Buurtcirkel nearby yet' : 'an existing Buurtcirkel nearby';
    case 'adresdichtheid': return `${num(typeof c.value === 'number' ? c.value : null)} addresses per km²; higher than ${pct}% of the ${lv}`;
    case 'laag_woz': return `mean WOZ value ${num(typeof c.value === 'number' ? c.value : null)} thousand euro; lower than ${pct}% of the ${lv}`;
    default: return `${num(typeof c.value === 'number' ? c.value : null)}% ${criterionLabel(c.criterion, c.label)}; higher than ${pct}% of the ${lv}`;
  }
}

/**
 * "3e van 12 buurten in Ermelo".
 * @param {AreaFeature['properties']} p
 * @param {string | undefined} level
 * @param {string | undefined} gemeenteName
 */
export function rankText(p, level, gemeenteName) {
  if (!p.rang) return t('panel.norank');
  if (level === 'gemeenten') return t('panel.rank.gemeente', p.rang, p.rang_van);
  return t('panel.rank', p.rang, p.rang_van, LEVEL_NAME[getLang()][/** @type {keyof typeof LEVEL_NAME.en} */ (level)] ?? level, gemeenteName || p.gemeentecode);
}

/** @param {string | null | undefined} cat */
export function badge(cat) {
  const c = cat ?? 'geen';
  return `<span class="badge ${esc(c)}">${esc(category(c))}</span>`;
}

/**
 * The panel's HTML for an item.
 * @param {AreaFeature} feature
 * @param {{ level: string, gemeenteName?: string, inShortlist: boolean }} opts
 */
export function renderPanel(feature, { level, gemeenteName, inShortlist }) {
  const p = feature.properties;
  const ex = p.toelichting || { criteria: [], notes: [], missing: [] };
  const rows = ex.criteria.map((c) => `
    <tr data-criterion="${esc(c.criterion)}">
      <td><strong>${esc(criterionTitle(c.criterion, c.label))}</strong><br>
        <span data-reason class="${c.missing ? 'missing' : ''}">${esc(criterionReason(c, level))}</span></td>
      <td class="num">${num(c.weight)}</td>
      <td class="num">${c.missing ? '—' : num(c.contribution)}
        <div class="bar" style="width:${Math.max(0, Math.min(100, (c.contribution || 0) * 3))}%" aria-hidden="true"></div></td>
    </tr>`).join('');
  const figures = figureFields().map(([f, unit]) => `
    <tr data-figure="${f}"><th scope="row">${esc(figureLabel(f))}</th>
      <td class="num ${p[f] === null || p[f] === undefined ? 'missing' : ''}">${esc(p[f] === null || p[f] === undefined ? unknownFigure(f, p.toelichting?.criteria) : num(p[f], unit))}</td></tr>`).join('');
  const notes = (ex.notes || []).map((/** @type {string} */ n) => `<li>${esc(bucketsInWords(n))}</li>`).join('');
  return `
    <p><span class="score-big" data-field="score">${p.score === null || p.score === undefined ? '—' : num(p.score)}</span>
       <span data-field="categorie">${badge(p.categorie)}</span></p>
    <p data-field="rang">${esc(rankText(p, level, gemeenteName))}</p>
    <p>${esc(t('panel.participants'))}: <strong data-field="deelnemers">${esc(p.deelnemers ? bucketText(p.deelnemers) : t('unknown.noclients'))}</strong>${p.deelnemers_geschat !== null && p.deelnemers_geschat !== undefined ? ` <span data-field="deelnemers_geschat">(${esc(t('panel.estimated', num(p.deelnemers_geschat)))})</span>` : ''}</p>
    ${p.criteria_bekend ? `<p data-field="volledigheid">${esc(t('panel.completeness', p.criteria_bekend, Math.round(p.volledigheid * 100)))}${p.stabiliteit ? `; <span data-field="stabiliteit">${esc(t(`panel.${p.stabiliteit}`, Math.round(p.stabiliteit_aandeel * 100)))}</span>` : ''}</p>` : ''}
    ${p.afstandsmaat ? `<p class="note" data-field="afstandsmaat">${esc(t(p.afstandsmaat === 'straatnetwerk' ? 'panel.metric.streets' : 'panel.metric.line'))}</p>` : ''}
    <div class="buttons">
      <button type="button" id="panel-shortlist" aria-pressed="${inShortlist}">${esc(t(inShortlist ? 'panel.remove' : 'panel.add'))}</button>
      <button type="button" id="panel-zoom" class="secondary">${esc(t('panel.zoom'))}</button>
    </div>
    ${notes ? `<h3>${esc(t('panel.notes'))}</h3><ul class="notes">${notes}</ul>` : ''}
    <h3>${esc(t('panel.why'))}</h3>
    <div class="table-wrap"><table class="criteria">
      <thead><tr><th scope="col">${esc(t('panel.criterion'))}: ${esc(t('panel.explain').toLowerCase())}</th>
        <th scope="col" class="num">${esc(t('panel.weight'))}</th><th scope="col" class="num">${esc(t('panel.contribution'))}</th></tr></thead>
      <tbody>${rows}</tbody></table></div>
    <h3>${esc(t('panel.figures'))}</h3>
    <table class="figures"><tbody>${figures}</tbody></table>
    <p class="note"><a href="/ogc/v1/collections/${esc(level)}/items/${encodeURIComponent(p.code)}?f=html">${esc(t('panel.apilink'))}</a></p>`;
}
