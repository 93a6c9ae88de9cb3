// The status line under the header, and the plain words for a failed request.

import { t } from './i18n.js';
import { ApiError } from './api.js';

/**
 * Shows `text` in the status line (empty clears it).
 * @param {string} [text]
 * @param {'info' | 'error'} [kind]
 */
export function setStatus(text, kind = 'info') {
  const el = /** @type {HTMLElement} */ (document.querySelector('#status'));
  el.textContent = text || '';
  el.classList.toggle('error', kind === 'error');
}

/**
 * A failure in the page's language: server down, still loading, or the server's own detail.
 * @param {unknown} err
 */
export function explain(err) {
  if (err instanceof ApiError) {
    if (err.kind === 'down') return t('status.down');
    if (err.kind === 'loading') return t('status.dataloading');
    return `${t('status.error')}: ${err.problem?.detail || err.problem?.title || err.status}`;
  }
  return `${t('status.error')}: ${err instanceof Error ? err.message : String(err)}`;
}

/**
 * The element matching `sel` (the page's own ids, which exist).
 * @template {HTMLElement} [E=HTMLElement]
 * @param {string} sel
 * @returns {E}
 */
export function $(sel) {
  return /** @type {E} */ (document.querySelector(sel));
}
