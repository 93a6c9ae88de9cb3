// The admin upload: the token and a client CSV go to `POST /api/v1/imports/clients` (with
// `skip_invalid=true` when "importeer alleen de goede regels" is ticked); the card shows the
// personal-data warning (amber, above the result), the rows read, the columns not stored, the
// warnings and a summary of the new map, or the server's problem in Dutch with what to do
// (`dutchProblem`; the English original stays below it). After a success `onImported`
// refreshes what depends on clients and resolves with the new score rows.

import { t } from './i18n.js';
import { ApiError, request } from './api.js';
import { esc } from './panel.js';
import { $, explain } from './status.js';

/**
 * The import report the endpoint answers with (the fields the page shows).
 * @typedef {{ layers?: { skipped?: boolean, features?: number, columns_ignored?: string[] }[],
 *   warnings?: string[], notes?: string[] }} ImportReport
 */

/**
 * The server's problem detail (English, written for the CLI and the API) in the page's Dutch,
 * with what to do in the page's words: "regel 3: y ontbreekt". Unknown sentences pass as they are.
 * @param {string} detail
 */
export function dutchProblem(detail) {
  /** @type {[RegExp, string | ((...m: string[]) => string)][]} */
  const rules = [
    [/^[^:\n]+: (\d+) of (\d+) rows are invalid, so nothing was imported(?: \(use skip_invalid=true to import the good rows\))?:/m, (_, bad, total) => `${bad} van de ${total} regels ${bad === '1' ? 'is' : 'zijn'} ongeldig; er is niets geïmporteerd. Verbeter het bestand, of vink "Importeer alleen de goede regels" aan.`],
    [/line (\d+): (\w+) \([^)]*\) is missing/g, 'regel $1: $2 ontbreekt'],
    [/line (\d+): (\w+) \([^)]*\) is not a number/g, 'regel $1: $2 is geen getal'],
    [/line (\d+): /g, 'regel $1: '],
    [/\.\.\. and (\d+) more/g, '... en nog $1'],
    [/^[^:\n]+: layer \S+ has no coordinates: .*$/m, 'Het bestand heeft geen kolommen met de plek. Nodig: x en y (RD New, meters) of lon en lat (WGS84).'],
    [/\(?use skip_invalid=true to import the good rows\)?/g, '(vink "Importeer alleen de goede regels" aan)'],
  ];
  let out = detail;
  for (const [re, nl] of rules) out = typeof nl === 'string' ? out.replace(re, nl) : out.replace(re, nl);
  return out;
}

/** @param {string[]} items */
const list = (items) => (items.length ? `<ul>${items.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : '<p>—</p>');

/**
 * Wires the upload form.
 * @param {(token: string) => Promise<{ rows: import('./store.js').ScoreRow[], clusters: number | null }>} onImported
 *   gets the admin token the upload used (to count the clusters of a store closed to the public)
 */
export function bindUpload(onImported) {
  const form = /** @type {HTMLFormElement} */ ($('#upload-form'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = /** @type {HTMLInputElement} */ ($('#upload-token')).value.trim();
    const fileInput = /** @type {HTMLInputElement} */ ($('#upload-file'));
    const file = fileInput.files?.[0];
    const out = $('#upload-result');
    if (!file || !token) return;
    const skip = /** @type {HTMLInputElement} */ ($('#upload-skip')).checked;
    const btn = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
    btn.disabled = true;
    out.innerHTML = `<p class="loading">${esc(t('upload.busy'))}</p>`;
    try {
      const res = await request(`/api/v1/imports/clients?filename=${encodeURIComponent(file.name)}${skip ? '&skip_invalid=true' : ''}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/csv' },
        body: file,
      });
      /** @type {ImportReport} */
      const r = await res.json();
      const layers = r.layers || [];
      const accepted = layers.filter((l) => !l.skipped).reduce((n, l) => n + (l.features || 0), 0);
      // Dropped columns: the layer's `columns_ignored` and the note "columns dropped, not stored: a, b".
      const fromNotes = (r.notes || []).flatMap((n) => { const m = /columns dropped, not stored: (.*)$/.exec(n); return m ? m[1].split(/,\s*/) : []; });
      const dropped = [...new Set([...layers.flatMap((l) => l.columns_ignored || []), ...fromNotes])].filter(Boolean);
      // Personal data that came along (names, addresses...) was dropped: say so first, in amber.
      const personal = (r.warnings || []).filter((w) => /personal data|direct identifiers/i.test(w));
      const identifiers = personal.flatMap((w) => { const m = /\(([^)]*)\)/.exec(w); return m ? m[1].split(/,\s*/) : []; });
      const other = (r.warnings || []).filter((w) => !personal.includes(w));
      out.innerHTML = `${personal.length ? `<div class="result-warn" data-field="personal" role="note"><p>${esc(t('upload.personal', identifiers.length || 1))}</p>${list(identifiers)}</div>` : ''}
        <div class="result-ok" data-outcome="ok"><p><strong>${esc(t('upload.ok'))}</strong></p>
        <p>${esc(t('upload.rows'))}: <strong data-field="rows">${accepted}</strong></p>
        <p data-field="dropped">${esc(t('upload.dropped'))}: ${dropped.length ? esc(dropped.join(', ')) : esc(t('upload.nonedropped'))}</p>
        ${other.length ? `<p>${esc(t('upload.warnings'))}:</p>${list(other.map(dutchProblem))}` : ''}
        ${(r.notes || []).length ? `<p>${esc(t('upload.notes'))}:</p>${list((r.notes || []).map(dutchProblem))}` : ''}
        <p data-field="summary" class="summary"></p></div>`;
      fileInput.value = '';
      const after = await onImported(token);
      const summary = out.querySelector('[data-field="summary"]');
      if (summary) {
        const geschikt = after.rows.filter((x) => x.categorie === 'geschikt').length;
        summary.textContent = t('upload.summary', after.clusters, geschikt);
      }
    } catch (e) {
      const detail = e instanceof ApiError && e.problem?.detail ? e.problem.detail : '';
      const words = detail ? dutchProblem(detail) : explain(e);
      out.innerHTML = `<div class="result-error" data-outcome="error" role="alert"><p><strong>${esc(t('upload.failed'))}</strong></p>
        <p data-field="problem" style="white-space:pre-wrap">${esc(words)}</p>
        ${detail && words !== detail ? `<details><summary>${esc(t('upload.original'))}</summary><pre style="white-space:pre-wrap">${esc(detail)}</pre></details>` : ''}</div>`;
    } finally {
      btn.disabled = false;
    }
  });
}
