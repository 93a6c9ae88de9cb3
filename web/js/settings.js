// The settings card: level radios, walking distance, minimum participants and one slider per
// criterion (built from the configuration, labelled with the server's labels), the reset
// button, and the legend. It writes the store; main.js reacts to the change.

import { t, num } from './i18n.js';
import { esc } from './panel.js';
import { COLOURS } from './map.js';
import { criterionTitle } from './labels.js';
import { state, data, update } from './store.js';
import { $ } from './status.js';

/**
 * The part of `/web/config.json` the settings read.
 * @typedef {object} SettingsConfig
 * @property {{ walk_m: number, min_participants: number, t_geschikt: number, t_kansrijk: number }} defaults
 * @property {{ walk_m: [number, number, number], min_participants: [number, number], weight: [number, number] }} ranges
 * @property {import('./labels.js').WeightConfig[]} weights
 * @property {{ open: boolean, menu: { walk_m: number, min_participants: number }[] }} [tier]
 *   `open` false: a store of real clients read without a planner token, which may use only the
 *   menu (docs/privacy.md, Tiers)
 */

/** @type {string[]} */
let ids = [];

/** The criterion that cannot be switched off in the page (see {@link buildControls}). */
const PARTICIPANTS = 'participants';
/** Per parameter, the lowest value the page offers where it is above the API's. */
/** @type {Record<string, number>} */
let minimums = {};

/** The callbacks of {@link bindSettings}, for controls built later (the public menu). */
/** @type {{ onInput: (id: string) => void } | null} */
let handlers = null;

/**
 * Builds the sliders and fills `data.defaults`; parameters not in the URL take their default.
 * @param {SettingsConfig} config
 */
export function buildControls(config) {
  const d = config.defaults;
  /** @type {Record<string, number>} */
  const defaults = { walk_m: d.walk_m, min_participants: d.min_participants, t_geschikt: d.t_geschikt, t_kansrijk: d.t_kansrijk };
  const box = $('#weights');
  box.innerHTML = '';
  const [wmin, wmax] = config.ranges.weight;
  for (const w of config.weights) {
    const param = w.param;
    defaults[param] = w.default;
    // Participants cannot be switched off on the page: at weight 0 the score forgets whether
    // anyone can come. The model's gate still holds then (fewer than 5 observed: one category
    // down, docs/suitability.md), and the API accepts 0; the page starts at 1.
    const min = w.key === PARTICIPANTS ? Math.max(1, wmin) : wmin;
    const div = document.createElement('div');
    div.className = 'field';
    div.innerHTML = `<label for="${param}"><span class="wlabel" data-key="${esc(w.key)}"></span> <output id="${param}-out" for="${param}"></output></label>
      <input id="${param}" name="${param}" type="range" min="${min}" max="${wmax}" step="1"${w.key === PARTICIPANTS ? ` aria-describedby="${param}-note"` : ''}>
      ${w.key === PARTICIPANTS ? `<p id="${param}-note" class="note" data-i18n="weight.participants.note">${esc(t('weight.participants.note'))}</p>` : ''}`;
    box.append(div);
  }
  minimums = Object.fromEntries(config.weights.filter((w) => w.key === PARTICIPANTS).map((w) => [w.param, Math.max(1, wmin)]));
  const [wl, wh, ws] = config.ranges.walk_m;
  Object.assign($('#walk_m'), { min: wl, max: wh, step: ws });
  const [ml, mh] = config.ranges.min_participants;
  Object.assign($('#min_participants'), { min: ml, max: mh });
  data.defaults = defaults;
  ids = ['walk_m', 'min_participants', ...config.weights.map((w) => w.param)];
  if (config.tier && !config.tier.open) {
    update({ params: menuOnly(config.tier.menu, defaults) });
    return;
  }
  update({ params: atLeastMinimum({ ...defaults, ...state.params }) });
}

/**
 * Raises a parameter below the page's minimum (a link with `w_participants=0`) to it.
 * @param {Record<string, number>} params
 */
function atLeastMinimum(params) {
  const out = { ...params };
  for (const [k, m] of Object.entries(minimums)) if (typeof out[k] === 'number' && out[k] < m) out[k] = m;
  return out;
}

/**
 * The public tier: the walking distance becomes a select of the menu, the minimum and the
 * weights are fixed at the menu's values (the server answers 401 to anything else).
 * @param {{ walk_m: number, min_participants: number }[]} menu
 * @param {Record<string, number>} defaults
 * @returns {Record<string, number>} the parameters to start from
 */
function menuOnly(menu, defaults) {
  const walks = [...new Set(menu.map((m) => m.walk_m))];
  if ($('#walk_m').tagName !== 'SELECT') {
    const select = document.createElement('select');
    select.id = 'walk_m';
    select.name = 'walk_m';
    select.innerHTML = walks.map((w) => `<option value="${w}">${esc(num(w))} m</option>`).join('');
    $('#walk_m').replaceWith(select);
    if (handlers) listen('walk_m', handlers);
  }
  const minp = /** @type {HTMLInputElement} */ ($('#min_participants'));
  const m = menu[0]?.min_participants ?? defaults.min_participants;
  Object.assign(minp, { min: m, max: m, disabled: true });
  for (const w of /** @type {NodeListOf<HTMLInputElement>} */ (document.querySelectorAll('#weights input'))) w.disabled = true;
  const asked = state.params.walk_m;
  const walk = walks.includes(asked) ? asked : defaults.walk_m;
  return { ...defaults, walk_m: walk, min_participants: m };
}

/**
 * After the snapshot changed (an upload): a store that no longer opens everything turns the
 * controls into the public menu and resets the parameters to it.
 * @param {SettingsConfig} config
 * @returns {boolean} true when the parameters changed
 */
export function applyTier(config) {
  if (!config.tier || config.tier.open) return false;
  update({ params: menuOnly(config.tier.menu, data.defaults) });
  return true;
}

/**
 * @param {string} id
 * @param {{ onInput: (id: string) => void }} on
 */
function listen(id, on) {
  const input = /** @type {HTMLInputElement} */ (document.getElementById(id));
  input.addEventListener('input', () => {
    update({ params: { ...state.params, [id]: Number(input.value) } });
    on.onInput(id);
  });
}

/** The criterion labels next to the sliders, in the page's language. */
export function labelWeights() {
  for (const el of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.wlabel'))) {
    el.textContent = criterionTitle(el.dataset.key || '');
  }
}

/** Slider positions, their read-outs and the level radios from the state. */
export function showParams() {
  for (const id of ids) {
    const input = /** @type {HTMLInputElement} */ (document.getElementById(id));
    const v = state.params[id];
    input.value = String(v);
    const out = /** @type {HTMLOutputElement} */ (document.getElementById(`${id}-out`));
    if (id === 'walk_m') out.textContent = `${num(v)} m`;
    else if (id.startsWith('w_')) out.textContent = v === 0 ? `0 (${t('weight.off')})` : num(v);
    else out.textContent = num(v);
    // aria-valuetext belongs to a slider; the public menu's select has its own option text.
    if (input.type === 'range') input.setAttribute('aria-valuetext', out.textContent);
    else input.removeAttribute('aria-valuetext');
  }
  for (const r of /** @type {NodeListOf<HTMLInputElement>} */ (document.querySelectorAll('input[name="level"]'))) r.checked = r.value === state.level;
}

/** The legend in the page's language. */
export function buildLegend() {
  const sw = (/** @type {string} */ c, o = 0.8) => `<span class="swatch" style="background:${c};opacity:${o}" aria-hidden="true"></span>`;
  const ramp = `<span class="swatch ramp" aria-hidden="true" style="background:linear-gradient(90deg, rgba(0,114,178,.25), rgba(0,114,178,.9))"></span>`;
  $('#legend').innerHTML = `
    <li>${sw(COLOURS.geschikt)}<span>${esc(t('legend.geschikt'))}</span></li>
    <li>${sw(COLOURS.kansrijk)}<span>${esc(t('legend.kansrijk'))}</span></li>
    <li>${sw(COLOURS.ongeschikt)}<span>${esc(t('legend.ongeschikt'))}</span></li>
    <li>${sw(COLOURS.geen, 1)}<span>${esc(t('legend.geen'))}</span></li>
    <li>${ramp}<span>${esc(t('legend.shade'))}</span></li>
    <li><span class="swatch" style="background:transparent;border:2px solid ${COLOURS.cluster}" aria-hidden="true"></span><span>${esc(t('legend.cluster'))}</span></li>
    <li><span class="swatch" style="border:2px dashed ${COLOURS.site};background:#fff" aria-hidden="true"></span><span>${esc(t('legend.site'))}</span></li>
    <li><span class="symbol" aria-hidden="true">⌂</span><span>${esc(t('legend.place'))}</span></li>
    <li><span class="symbol" aria-hidden="true">◎</span><span>${esc(t('legend.circle'))}</span></li>
    <li><span class="swatch" style="border:2px solid ${COLOURS.gemeente};background:#fff" aria-hidden="true"></span><span>${esc(t('legend.gemeente'))}</span></li>`;
}

/**
 * Wires the controls to the store.
 * @param {{ onInput: (param: string) => void, onReset: () => void, onLevel: (level: import('./store.js').AreaLevel) => void }} on
 *   `onInput` hears which parameter moved (after the store has it), `onReset` the reset button
 */
export function bindSettings(on) {
  handlers = on;
  for (const id of ids) listen(id, on);
  for (const r of /** @type {NodeListOf<HTMLInputElement>} */ (document.querySelectorAll('input[name="level"]'))) {
    r.addEventListener('change', () => on.onLevel(/** @type {import('./store.js').AreaLevel} */ (r.value)));
  }
  $('#reset').addEventListener('click', () => {
    update({ params: { ...data.defaults } });
    on.onReset();
  });
}
