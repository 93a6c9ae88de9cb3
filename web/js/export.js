// Shortlist exports. GeoJSON features are the API's own items (fetched again with the current
// parameters, links left out), so an export matches what the API publishes. CSV is written for
// Dutch spreadsheets: semicolons, decimal commas and a byte-order mark.

import { getJSON, withQuery } from './api.js';
import { criterionKeys, figureFields } from './labels.js';

/** @typedef {import('./panel.js').AreaFeature} AreaFeature */

/**
 * The API's features of the shortlist `items` for the parameter `query`.
 * @param {import('./store.js').ShortlistItem[]} items
 * @param {string} query
 * @returns {Promise<AreaFeature[]>}
 */
export async function shortlistFeatures(items, query) {
  const features = await Promise.all(items.map(async ({ level, code }) => {
    const f = await getJSON(withQuery(`/ogc/v1/collections/${level}/items/${encodeURIComponent(code)}`, query));
    delete f.links;
    return f;
  }));
  return features;
}

/**
 * @param {AreaFeature[]} features
 * @param {Record<string, number>} params
 */
export function featureCollection(features, params) {
  return {
    type: 'FeatureCollection',
    features,
    parameters: params,
    timeStamp: new Date().toISOString(),
  };
}

/** @param {unknown} v */
function cell(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v).replace('.', ',');
  const s = String(v);
  return /[;"\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** @param {AreaFeature[]} features */
export function toCSV(features) {
  const cols = ['niveau', 'code', 'naam', 'gemeentecode', 'wijkcode', 'score', 'categorie', 'rang', 'rang_van', 'deelnemers',
    ...figureFields().map(([f]) => f), ...criterionKeys().map((c) => `bijdrage_${c}`), 'redenen'];
  const lines = [cols.join(';')];
  for (const f of features) {
    const p = f.properties;
    const contrib = Object.fromEntries((p.toelichting?.criteria || []).map((c) => [`bijdrage_${c.criterion}`, c.missing ? null : c.contribution]));
    lines.push(cols.map((c) => cell(c in contrib ? contrib[c] : p[c])).join(';'));
  }
  return '\ufeff' + lines.join('\r\n') + '\r\n';
}

/**
 * Offers `text` as a file to save.
 * @param {string} filename
 * @param {string} text
 * @param {string} type
 */
export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
