// Criterion and key-figure labels as the server sends them in `/web/config.json` (the model's
// own Dutch labels and their English wording), so the page holds no copy of them. Until the
// configuration is in, a label is its key.

import { getLang } from './i18n.js';

/** @typedef {Record<'nl' | 'en', string>} Labels */
/** @typedef {{ param: string, key: string, default: number, label: string, labels: Labels }} WeightConfig */
/** @typedef {{ field: string, unit: string, labels: Labels }} FigureConfig */

/** @type {WeightConfig[]} */
let criteria = [];
/** @type {FigureConfig[]} */
let figures = [];

/**
 * Takes the labels from the configuration.
 * @param {{ weights: WeightConfig[], figures?: FigureConfig[] }} config
 */
export function setLabels(config) {
  criteria = config.weights || [];
  figures = config.figures || [];
}

/** The criteria in the model's order. */
export function criterionKeys() {
  return criteria.map((c) => c.key);
}

/**
 * The label of criterion `key` in the page's language (lower case, as in a sentence).
 * @param {string} key
 * @param {string} [fallback] the label the API sent with an explanation
 */
export function criterionLabel(key, fallback) {
  const c = criteria.find((x) => x.key === key);
  return c?.labels?.[getLang()] ?? c?.label ?? fallback ?? key;
}

/**
 * The label of criterion `key` as a heading or table label: capitalised ("65-plussers",
 * "Deelnemers binnen loopafstand").
 * @param {string} key
 * @param {string} [fallback]
 */
export function criterionTitle(key, fallback) {
  const text = criterionLabel(key, fallback);
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The key figures in the model's order: [field, unit] pairs. */
export function figureFields() {
  return figures.map((f) => /** @type {[string, string]} */ ([f.field, f.unit]));
}

/**
 * The label of key figure `field` in the page's language.
 * @param {string} field
 */
export function figureLabel(field) {
  return figures.find((f) => f.field === field)?.labels?.[getLang()] ?? field;
}
