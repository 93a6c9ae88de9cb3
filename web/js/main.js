// The web map's controller: boots the page, loads the scores, overlays and the panel, and holds
// the render step that keeps the DOM, the map and the URL in line with the store (store.js).
// The parts have their own modules: url.js (the state in the URL), settings.js, list.js,
// search.js, shortlist.js, upload.js; labels.js holds the server's criterion and figure labels.
//
// A parameter change fetches the compact scores (`/api/v1/scores/{level}`) and recolours the
// already loaded vector tiles through feature state; at most one scores request is in flight
// and the newest settings always win.

import { t, num, setLang, translatePage } from './i18n.js';
import { ApiError, getJSON, paramQuery, withQuery } from './api.js';
import { AtlasMap } from './map.js';
import { renderPanel, esc } from './panel.js';
import { setLabels } from './labels.js';
import { state, data, update, changed, subscribe } from './store.js';
import { readURL, stateQuery, writeURL } from './url.js';
import { buildControls, labelWeights, showParams, buildLegend, bindSettings, applyTier } from './settings.js';
import { renderList, markSelected, bindList } from './list.js';
import { bindSearch } from './search.js';
import { renderShortlist, inShortlist, toggleShortlist, bindShortlist } from './shortlist.js';
import { bindUpload } from './upload.js';
import { applyPlanner, bindPlanner } from './planner.js';
import { $, setStatus, showNotice, explain } from './status.js';
import { Orientation, firstView } from './orient.js';
import { byDistance, sitesIn } from './nearby.js';
import { noteChanges, clearChanges, renderBanner, bindChanges } from './changes.js';

/** @typedef {import('./store.js').AreaLevel} AreaLevel */

/**
 * `/web/config.json` (src/publish/web.rs `config_json`).
 * @typedef {import('./settings.js').SettingsConfig & {
 *   data: 'ready' | 'loading', extent: [number, number, number, number] | null,
 *   levels: Record<string, number>, basemap: { url: string, attribution: string } | null,
 *   coverage?: Record<string, Record<string, [number, number, number, number]>>,
 *   figures: import('./labels.js').FigureConfig[] }} Config
 */

/**
 * What the page exposes for the browser tests and for curious users in the console.
 * @typedef {object} Atlas
 * @property {import('./store.js').State} state
 * @property {{ query: string, inputAt: number, paintedAt: number, ms: number } | null} lastRecolour
 * @property {number | null} firstPaint
 * @property {number | null} firstShown
 * @property {number} scoresApplied
 * @property {string[]} errors
 * @property {import('maplibre-gl').Map} [map]
 * @property {boolean} [ready]
 */

/** @type {Config} */
let config;
/** @type {AtlasMap | null} */
let amap = null;
/** @type {Orientation | null} */
let orient = null;
/** @type {Record<string, GeoJSON.FeatureCollection | null>} the overlays as published, for the panel and the site filter */
const overlays = { clusters: null, sites: null, places: null, circles: null };
/** @type {import('./orient.js').LabelItem[]} the gemeenten with name and box, for the map's names */
const gemeenteLabels = [];

/** @type {Atlas} */
const atlas = { state, lastRecolour: null, firstPaint: null, firstShown: null, scoresApplied: 0, errors: [] };
window.atlas = atlas;

/** @param {unknown} e */
const note = (e) => atlas.errors.push(String(e instanceof Error ? e.message : e));

/** The analysis parameters that differ from the defaults, as a query string. */
function query() {
  return paramQuery(state.params, data.defaults);
}

function urlQuery() {
  return stateQuery(state, query(), amap ? amap.view() : null);
}

/** @param {AreaLevel} level */
function shortlistCodes(level) {
  return state.shortlist.filter((s) => s.level === level).map((s) => s.code);
}

// ---- the render step -------------------------------------------------------------------------

const URL_KEYS = ['level', 'params', 'selected', 'shortlist', 'sort', 'lang', 'view-moved', 'scenario'];

subscribe((ch) => {
  if (ch.has('lang')) retranslate();
  else if (ch.has('params') || ch.has('level')) showParams();
  if (ch.has('rows') || ch.has('sort') || ch.has('view-moved') || ch.has('names') || ch.has('lang')) renderList(amap ? amap.bounds() : null);
  else if (ch.has('selected')) markSelected();
  if (ch.has('selected')) {
    amap?.setSelected(state.selected);
    showSites();
  }
  if (ch.has('rows') || ch.has('names')) orient?.schedule();
  if (ch.has('params') || ch.has('scenario') || ch.has('lang')) renderBanner();
  if (ch.has('rows') && !ch.has('selected')) showSites();
  if (ch.has('shortlist') || ch.has('rows') || ch.has('names') || ch.has('level') || ch.has('lang')) {
    renderShortlist();
    if (state.level) amap?.setShortlist(shortlistCodes(state.level));
  }
  if (URL_KEYS.some((k) => ch.has(/** @type {import('./store.js').Change} */ (k)))) writeURL(urlQuery);
});

function retranslate() {
  translatePage();
  const lang = $('#lang');
  lang.textContent = state.lang === 'nl' ? 'EN' : 'NL';
  // The accessible name starts with the visible text (WCAG 2.5.3, axe label-content-name-mismatch).
  lang.setAttribute('aria-label', state.lang === 'nl' ? 'EN: switch to English' : 'NL: naar Nederlands');
  lang.setAttribute('lang', state.lang === 'nl' ? 'en' : 'nl');
  labelWeights();
  showParams();
  buildLegend();
  amap?.translate({ label: t('map.label'), zoomIn: t('map.zoomin'), zoomOut: t('map.zoomout') });
  if (state.selected && panelFeature) showPanel(panelFeature);
}

// ---- configuration ---------------------------------------------------------------------------

/** @returns {Promise<Config>} */
async function loadConfig() {
  const early = await window.atlasConfigRequest;
  window.atlasConfigRequest = null;
  if (early?.data === 'ready') return early;
  for (let attempt = 0; ; attempt++) {
    try {
      const c = await getJSON('/web/config.json');
      if (c.data === 'ready') return c;
      setStatus(t('status.dataloading'));
    } catch (e) {
      setStatus(explain(e), 'error');
    }
    await new Promise((r) => setTimeout(r, Math.min(5000, 500 * (attempt + 1))));
  }
}

// ---- scores and overlays ---------------------------------------------------------------------

let scoresInFlight = false;
let scoresPending = false;
/** @type {number | null} */
let lastInputAt = null;

function scheduleScores() {
  if (scoresInFlight) {
    scoresPending = true;
    return;
  }
  loadScores();
}

async function loadScores() {
  scoresInFlight = true;
  scoresPending = false;
  const q = query();
  const level = state.level;
  const inputAt = lastInputAt;
  $('#ranked').setAttribute('aria-busy', 'true');
  try {
    const answer = await getJSON(withQuery(`/api/v1/scores/${level}`, q));
    if (level === state.level) {
      /** @type {string[]} */
      const f = answer.fields;
      const before = data.rows;
      data.rows = answer.rows.map((/** @type {unknown[]} */ r) => Object.fromEntries(f.map((k, i) => [k, r[i]])));
      data.rowsByCode = new Map(data.rows.map((r) => [r.code, r]));
      for (const r of data.rows) data.names.set(`${level}:${r.code}`, r.naam || r.code);
      // A settings change (not the first load of a level): say which areas changed category.
      if (before.length && inputAt !== null) noteChanges(before, data.rows);
      changed('rows');
      if (amap) {
        const paintedAt = await amap.applyScores(data.rows);
        atlas.scoresApplied++;
        if (inputAt !== null && paintedAt !== undefined) {
          atlas.lastRecolour = { query: q, inputAt, paintedAt, ms: paintedAt - inputAt };
        }
      }
      setStatus('');
    }
  } catch (e) {
    note(e);
    setStatus(explain(e), 'error');
  } finally {
    $('#ranked').removeAttribute('aria-busy');
    scoresInFlight = false;
    if (scoresPending || query() !== q || level !== state.level) scheduleScores();
  }
}

/** @param {('clusters' | 'sites' | 'places' | 'circles')[]} which */
async function loadOverlays(which = ['clusters', 'sites', 'places', 'circles']) {
  const q = query();
  // Cluster and site geometry is for planners unless the store opens everything (docs/privacy.md).
  const open = !config?.tier || config.tier.open;
  if (!open) {
    // Drop what an open store showed before (an upload of real clients closes it).
    for (const id of /** @type {const} */ (['clusters', 'sites'])) {
      if (!which.includes(id) || !overlays[id]) continue;
      overlays[id] = null;
      if (id === 'sites') showSites();
      else await amap?.setOverlay(id, { type: 'FeatureCollection', features: [] });
    }
  }
  await Promise.all(which.filter((id) => open || (id !== 'clusters' && id !== 'sites')).map(async (id) => {
    try {
      const needsParams = id === 'clusters' || id === 'sites';
      const fc = await getJSON(withQuery(`/ogc/v1/collections/${id}/items?limit=10000`, needsParams ? q : ''));
      if (!needsParams || q === query()) {
        overlays[id] = fc;
        if (id === 'sites') showSites();
        else await amap?.setOverlay(id, fc);
        if (id !== 'clusters' && panelFeature) showNearby(panelFeature);
      }
    } catch (e) {
      // A collection closed to this role (401/403) is simply not drawn.
      if (!(e instanceof ApiError && (e.status === 401 || e.status === 403))) setStatus(explain(e), 'error');
    }
  }));
}

async function loadGemeenteNames() {
  try {
    const answer = await getJSON('/api/v1/scores/gemeenten');
    const ci = answer.fields.indexOf('code');
    const ni = answer.fields.indexOf('naam');
    const bi = answer.fields.indexOf('bbox');
    gemeenteLabels.length = 0;
    for (const r of answer.rows) {
      data.gemeenteNames.set(r[ci], r[ni]);
      if (r[bi] && r[ni]) gemeenteLabels.push({ code: r[ci], naam: r[ni], bbox: r[bi] });
    }
    changed('names');
  } catch (e) {
    note(e);
  }
}

/** The candidate sites of the selected area only, one per centre (none without a selection). */
function showSites() {
  const bbox = state.selected ? data.rowsByCode.get(state.selected)?.bbox : null;
  amap?.setOverlay('sites', sitesIn(overlays.sites, bbox));
}

/** @param {number} m */
function distanceText(m) {
  if (m <= 0) return t('near.inside');
  if (m < 1000) return t('near.m', num(Math.round(m / 10) * 10));
  return t('near.km', (m / 1000).toLocaleString(state.lang === 'nl' ? 'nl-NL' : 'en-GB', { maximumFractionDigits: 1 }));
}

/**
 * The nearest meeting place and any circle within 2 km of the area, under the panel's figures.
 * @param {import('./panel.js').AreaFeature} f
 */
function showNearby(f) {
  const box = document.querySelector('#panel-nearby');
  if (!box) return;
  const place = byDistance(overlays.places, f.geometry)[0];
  const circle = byDistance(overlays.circles, f.geometry).find((c) => c.m <= 2000);
  const sites = sitesIn(overlays.sites, data.rowsByCode.get(f.properties.code)?.bbox).features.length;
  const items = [
    place ? `<li data-field="nearest-place">${esc(t('near.place', place.feature.properties?.naam ?? '', place.feature.properties?.soort ?? '', distanceText(place.m)))}</li>` : `<li data-field="nearest-place">${esc(t('near.noplace'))}</li>`,
    circle ? `<li data-field="nearest-circle">${esc(t('near.circle', circle.feature.properties?.naam ?? '', distanceText(circle.m)))}</li>` : `<li data-field="nearest-circle">${esc(t('near.nocircle'))}</li>`,
  ];
  if (sites) items.push(`<li data-field="sites">${esc(t('near.sites', sites))}</li>`);
  box.innerHTML = `<h3>${esc(t('near.title'))}</h3><ul>${items.join('')}</ul>`;
}

// ---- the panel -------------------------------------------------------------------------------

let panelSeq = 0;
/** @type {import('./panel.js').AreaFeature | null} */
let panelFeature = null;

/** @param {import('./panel.js').AreaFeature} f */
function showPanel(f) {
  const level = /** @type {AreaLevel} */ (state.level);
  const code = f.properties.code;
  $('#panel-body').innerHTML = renderPanel(f, { level, gemeenteName: data.gemeenteNames.get(f.properties.gemeentecode ?? ''), inShortlist: inShortlist(level, code) });
  $('#panel-shortlist').addEventListener('click', () => toggleShortlist(level, code));
  $('#panel-zoom').addEventListener('click', () => amap?.fit(data.rowsByCode.get(code)?.bbox));
  const near = document.createElement('section');
  near.id = 'panel-nearby';
  near.className = 'nearby';
  $('#panel-body').appendChild(near);
  showNearby(f);
}

/**
 * Selects the area `code` of the current level and shows it in the panel.
 * @param {string} code
 * @param {{ focus?: boolean }} [opts]
 */
async function openPanel(code, { focus = false } = {}) {
  update({ selected: code });
  const panel = $('#panel');
  panel.hidden = false;
  const seq = ++panelSeq;
  const level = state.level;
  const row = data.rowsByCode.get(code);
  $('#panel-title').textContent = row?.naam || code;
  const body = $('#panel-body');
  body.setAttribute('aria-busy', 'true');
  if (!panelFeature || panelFeature.properties.code !== code) body.innerHTML = `<p class="loading">${esc(t('panel.loading'))}</p>`;
  if (focus) {
    // The panel sits at the top of the side bar, often far above the list: bring it into view,
    // put the keyboard focus on its heading and show the area on the map.
    $('#panel').scrollIntoView({ block: 'start' });
    $('#panel-title').focus({ preventScroll: true });
    if (row?.bbox) amap?.panTo(row.bbox);
  }
  try {
    /** @type {import('./panel.js').AreaFeature} */
    const f = await getJSON(withQuery(`/ogc/v1/collections/${level}/items/${encodeURIComponent(code)}`, query()));
    if (seq !== panelSeq) return;
    panelFeature = f;
    data.names.set(`${level}:${code}`, f.properties.naam);
    changed('names');
    $('#panel-title').textContent = `${f.properties.naam} (${f.properties.code})`;
    showPanel(f);
  } catch (e) {
    if (seq !== panelSeq) return;
    body.innerHTML = `<p class="result-error">${esc(t('panel.failed'))}: ${esc(explain(e))}</p>`;
  } finally {
    if (seq === panelSeq) body.removeAttribute('aria-busy');
  }
}

function closePanel() {
  panelFeature = null;
  panelSeq++;
  $('#panel').hidden = true;
  update({ selected: null });
}

// ---- actions ---------------------------------------------------------------------------------

/** @param {AreaLevel} level */
async function switchLevel(level) {
  if (level === state.level) return;
  if (state.selected) closePanel();
  update({ level });
  clearChanges();
  data.rows = [];
  data.rowsByCode = new Map();
  changed('rows');
  await amap?.setLevel(level, query());
  changed('shortlist');
  scheduleScores();
}

/** @type {ReturnType<typeof setTimeout> | undefined} */
let dependentTimer;
let dependentWalk = false;

/** Panel and overlays follow a little behind the colours: they are larger answers.
 * @param {string} id the parameter that moved */
function scheduleDependent(id) {
  if (id === 'walk_m' || id === 'min_participants') dependentWalk = true;
  clearTimeout(dependentTimer);
  dependentTimer = setTimeout(() => {
    if (state.selected) openPanel(state.selected);
    if (dependentWalk) loadOverlays(['clusters', 'sites']);
    dependentWalk = false;
  }, 150);
}

/** @param {string} id */
function onParamsChanged(id) {
  lastInputAt = performance.now();
  scheduleScores();
  scheduleDependent(id);
}

/** @param {import('./search.js').SearchResult} r */
async function onSearchChoice(r) {
  if (r.collection !== 'gemeenten' && r.collection !== state.level) await switchLevel(r.collection);
  amap?.fit(r.bbox);
  if (r.collection !== 'gemeenten') openPanel(r.code, { focus: true });
}

function bind() {
  bindSettings({ onInput: onParamsChanged, onReset: () => onParamsChanged('walk_m'), onLevel: switchLevel });
  bindList((code) => openPanel(code, { focus: true }));
  bindChanges({ query });
  bindSearch(onSearchChoice);
  bindShortlist({ query, snapshot: async () => (amap ? amap.snapshot() : null) });
  bindUpload(async (token) => {
    // The snapshot was replaced: real clients close the store to the public menu (docs/privacy.md).
    try {
      const fresh = await getJSON('/web/config.json');
      if (config) config.tier = fresh.tier;
      await applyPlanner(fresh);
      if (config) config.tier = fresh.tier;
      if (applyTier(fresh)) showParams();
    } catch (e) {
      note(e);
    }
    // Fetch what depends on client data again, and answer with the new rows and clusters for
    // the upload's summary.
    scheduleScores();
    const overlaysDone = loadOverlays(['clusters', 'sites']);
    if (state.selected) openPanel(state.selected);
    await overlaysDone;
    while (scoresInFlight || scoresPending) await new Promise((r) => setTimeout(r, 50));
    let clusters = overlays.clusters ? overlays.clusters.features.length : null;
    if (clusters === null) {
      // A closed store shows no clusters to the public; the admin who uploaded may count them.
      try {
        const fc = await getJSON(withQuery('/ogc/v1/collections/clusters/items?limit=1', query()), { headers: { Authorization: `Bearer ${token}` } });
        clusters = typeof fc.numberMatched === 'number' ? fc.numberMatched : null;
      } catch {
        clusters = null;
      }
    }
    return { rows: data.rows, clusters };
  });
  $('#panel-close').addEventListener('click', closePanel);
  $('#lang').addEventListener('click', () => {
    const lang = state.lang === 'nl' ? 'en' : 'nl';
    setLang(lang);
    update({ lang });
  });
}

/** Resolves once the map has drawn its first areas (or after 3 s). */
function firstPaint() {
  return new Promise((resolve) => {
    if (!amap || atlas.firstPaint) return resolve(undefined);
    const m = amap.map;
    const timer = setTimeout(resolve, 3000);
    m.on('render', function check() {
      if (atlas.firstPaint) {
        clearTimeout(timer);
        m.off('render', check);
        resolve(undefined);
      }
    });
  });
}

/**
 * The box a view from the URL shows in the map's container (Web Mercator, 512 px tiles).
 * @param {import('./store.js').View} v
 * @returns {[number, number, number, number]}
 */
function viewBox(v) {
  const el = $('#map');
  const deg = 360 / (512 * 2 ** v.zoom);
  const w = (el.clientWidth || 800) * deg / 2;
  const h = (el.clientHeight || 600) * deg * Math.cos((v.center[1] * Math.PI) / 180) / 2;
  return [v.center[0] - w, v.center[1] - h, v.center[0] + w, v.center[1] + h];
}

async function boot() {
  // Start MapLibre's tile workers now, while the configuration loads: a worker takes a few
  // hundred milliseconds to start on a slow machine, and the first tiles wait for it.
  if (typeof maplibregl !== 'undefined') {
    maplibregl.prewarm();
  }
  const fromURL = readURL(location.search);
  setLang(fromURL.lang);
  Object.assign(state, fromURL);
  translatePage();
  setStatus(t('status.loading'));
  config = await loadConfig();
  bindPlanner(await applyPlanner(config));
  performance.mark('atlas-config');
  setStatus('');
  setLabels(config);
  buildControls(config);
  const urlLevel = state.level;
  const first = firstView(config, urlLevel, state.view ? viewBox(state.view) : null);
  state.level = first.level;
  if (first.note) showNotice('level', first.note);
  changed('lang');
  bind();
  const q = query();
  const level = state.level;
  if (typeof maplibregl === 'undefined') {
    setStatus(t('status.nomaplib'), 'error');
  } else {
    try {
      amap = new AtlasMap($('#map'), {
        level,
        query: q,
        labels: { label: t('map.label'), zoomIn: t('map.zoomin'), zoomOut: t('map.zoomout') },
        center: state.view?.center,
        zoom: state.view?.zoom,
        bounds: first.bounds,
        basemap: config.basemap,
        onClick: (code) => openPanel(code),
        onMove: () => changed('view-moved'),
        onBasemapError: () => showNotice('basemap', t('status.basemap')),
        onError: note,
        onFirstPaint: (ms) => { atlas.firstPaint = ms; },
        onFirstShown: (ms) => { atlas.firstShown = ms; },
      });
      atlas.map = amap.map;
      orient = new Orientation(amap.map, () => gemeenteLabels);
      performance.mark('atlas-map-created');
      await amap.setLevel(level, q);
      performance.mark('atlas-areas-added');
      changed('shortlist');
    } catch (e) {
      amap = null;
      setStatus(t('status.nowebgl'), 'error');
      note(e);
    }
  }
  // The first tiles already carry the colours of these parameters: let them draw first, then
  // fetch the list data and overlays, so they do not compete for the network and main thread.
  await firstPaint();
  loadGemeenteNames();
  scheduleScores();
  if (amap) loadOverlays();
  if (state.selected) openPanel(state.selected);
  changed('view-moved');
  atlas.ready = true;
}

boot();
