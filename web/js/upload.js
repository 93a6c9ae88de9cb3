// The admin upload: the token and a client CSV go to `POST /api/v1/imports/clients`; the card
// shows the rows read, the columns not stored, the warnings and notes, or the server's problem
// detail (nothing changed then). After a success `onImported` refreshes what depends on clients.

import { t } from './i18n.js';
import { ApiError, request } from './api.js';
import { esc } from './panel.js';
import { $, explain } from './status.js';

/**
 * The import report the endpoint answers with (the fields the page shows).
 * @typedef {{ layers?: { skipped?: boolean, features?: number, columns_ignored?: string[] }[],
 *   warnings?: string[], notes?: string[] }} ImportReport
 */

/** @param {string[]} items */
const list = (items) => (items.length ? `<ul>${items.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : '<p>—</p>');

/**
 * Wires the upload form.
 * @param {() => void} onImported
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
    const btn = /** @type {HTMLButtonElement} */ (form.querySelector('button[type="submit"]'));
    btn.disabled = true;
    out.innerHTML = `<p class="loading">${esc(t('upload.busy'))}</p>`;
    try {
      const res = await request(`/api/v1/imports/clients?filename=${encodeURIComponent(file.name)}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/csv' },
        body: file,
      });
      /** @type {ImportReport} */
      const r = await res.json();
      const layers = r.layers || [];
      const accepted = layers.filter((l) => !l.skipped).reduce((n, l) => n + (l.features || 0), 0);
      const dropped = [...new Set(layers.flatMap((l) => l.columns_ignored || []))];
      out.innerHTML = `<div class="result-ok" data-outcome="ok"><p><strong>${esc(t('upload.ok'))}</strong></p>
        <p>${esc(t('upload.rows'))}: <strong data-field="rows">${accepted}</strong></p>
        <p>${esc(t('upload.dropped'))}:</p>${list(dropped)}
        <p>${esc(t('upload.warnings'))}:</p>${list(r.warnings || [])}
        ${(r.notes || []).length ? `<p>${esc(t('upload.notes'))}:</p>${list(r.notes || [])}` : ''}</div>`;
      fileInput.value = '';
      onImported();
    } catch (e) {
      const detail = e instanceof ApiError && e.problem ? `${e.problem.title || ''}${e.problem.detail ? `: ${e.problem.detail}` : ''}` : explain(e);
      out.innerHTML = `<div class="result-error" data-outcome="error" role="alert"><p><strong>${esc(t('upload.failed'))}</strong></p>
        <pre style="white-space:pre-wrap">${esc(detail)}</pre></div>`;
    } finally {
      btn.disabled = false;
    }
  });
}
