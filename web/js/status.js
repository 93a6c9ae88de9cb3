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
 * A message that stays until the user closes it (a later status line does not wipe it); a
 * second notice with the same `key` replaces the first.
 * @param {string} key
 * @param {string} text
 */
export function showNotice(key, text) {
  const list = /** @type {HTMLElement} */ (document.querySelector('#notices'));
  list.querySelector(`[data-key="${key}"]`)?.remove();
  const li = document.createElement('li');
  li.className = 'notice';
  li.dataset.key = key;
  const span = document.createElement('span');
  span.textContent = text;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'icon';
  close.textContent = '✕';
  close.setAttribute('aria-label', t('notice.close'));
  close.addEventListener('click', () => li.remove());
  li.append(span, close);
  list.appendChild(li);
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
