// The web map's controller: state (level, analysis parameters, view, selection, shortlist,
// language) lives in the URL, so a link reproduces the view. A parameter change fetches the
// compact scores (`/api/v1/scores/{level}`) and recolours the already loaded vector tiles
// through feature state; at most one scores request is in flight and the newest settings
// always win.

import { t, setLang, getLang, translatePage, num } from './i18n.js';
import { ApiError, getJSON, request, paramQuery, withQuery } from './api.js';
import { AtlasMap, COLOURS } from './map.js';
import { renderPanel, esc, badge } from './panel.js';
import { shortlistFeatures, featureCollection, toCSV, download, CRITERIA } from './export.js';
import { FIGURES, criterionLabel } from './panel.js';

const $ = (sel) => document.querySelector(sel);
const LIST_MAX = 50;
const AREA_LEVELS = ['buurten', 'wijken'];

const state = {
  level: null,
  params: {},
  selected: null,
  shortlist: [], // [{level, code, naam}]
  sort: { key: 'score', dir: 'desc' },
  view: null, // {center, zoom} from the URL
};
let config = null;
let defaults = {};
let amap = null;
let rows = []; // scores of state.level, as objects
let rowsByCode = new Map();
const gemeenteNames = new Map();
const names = new Map(); // "level:code" -> naam, for the shortlist

// Exposed for the browser tests and for curious users in the console.
const atlas = (window.atlas = { state, lastRecolour: null, firstPaint: null, firstShown: null, scoresApplied: 0, errors: [] });

// ---- status line -------------------------------------------------------------------------

function setStatus(text, kind = 'info') {
  const el = $('#status');
  el.textContent = text || '';
  el.classList.toggle('error', kind === 'error');
}

function explain(err) {
  if (err instanceof ApiError) {
    if (err.kind === 'down') return t('status.down');
    if (err.kind === 'loading') return t('status.dataloading');
    return `${t('status.error')}: ${err.problem?.detail || err.problem?.title || err.status}`;
  }
  return `${t('status.error')}: ${err?.message || err}`;
}

// ---- URL state ---------------------------------------------------------------------------

function readURL() {
  const q = new URLSearchParams(location.search);
  setLang(q.get('lang') === 'en' ? 'en' : 'nl');
  state.level = AREA_LEVELS.includes(q.get('niveau')) ? q.get('niveau') : null;
  for (const [k, v] of q) {
    if (k === 'walk_m' || k === 'min_participants' || k.startsWith('w_') || k.startsWith('t_')) {
      const n = Number(v);
      if (Number.isFinite(n)) state.params[k] = n;
    }
  }
  state.selected = q.get('sel') || null;
  state.shortlist = (q.get('sl') || '').split(',').filter(Boolean).map((s) => {
    const [level, code] = s.split(':');
    return { level, code };
  }).filter((s) => AREA_LEVELS.includes(s.level) && s.code);
  const z = Number(q.get('z'));
  const c = (q.get('c') || '').split(',').map(Number);
  if (Number.isFinite(z) && q.get('z') !== null && c.length === 2 && c.every(Number.isFinite)) {
    state.view = { center: c, zoom: z };
  }
  if (q.get('sort')) {
    const [key, dir] = q.get('sort').split(':');
    if (['naam', 'score', 'categorie', 'rang'].includes(key)) state.sort = { key, dir: dir === 'asc' ? 'asc' : 'desc' };
  }
}

let urlPending = false;
function writeURL() {
  if (urlPending) return;
  urlPending = true;
  requestAnimationFrame(() => {
    urlPending = false;
    const q = new URLSearchParams();
    q.set('niveau', state.level);
    const pq = new URLSearchParams(query());
    for (const [k, v] of pq) q.set(k, v);
    if (amap) {
      const v = amap.view();
      q.set('z', v.zoom.toFixed(2));
      q.set('c', `${v.center[0].toFixed(5)},${v.center[1].toFixed(5)}`);
    } else if (state.view) {
      q.set('z', String(state.view.zoom));
      q.set('c', state.view.center.join(','));
    }
    if (state.selected) q.set('sel', state.selected);
    if (state.shortlist.length) q.set('sl', state.shortlist.map((s) => `${s.level}:${s.code}`).join(','));
    if (state.sort.key !== 'score' || state.sort.dir !== 'desc') q.set('sort', `${state.sort.key}:${state.sort.dir}`);
    if (getLang() !== 'nl') q.set('lang', getLang());
    history.replaceState(null, '', `${location.pathname}?${q.toString().replace(/%2C/g, ',').replace(/%3A/g, ':')}`);
  });
}

/** The analysis parameters that differ from the defaults, as a query string. */
function query() {
  return paramQuery(state.params, defaults);
}

// ---- configuration and controls ------------------------------------------------------------

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

function buildControls() {
  const d = config.defaults;
  defaults = { walk_m: d.walk_m, min_participants: d.min_participants, t_geschikt: d.t_geschikt, t_kansrijk: d.t_kansrijk };
  const box = $('#weights');
  box.innerHTML = '';
  const [wmin, wmax] = config.ranges.weight;
  for (const w of config.weights) {
    const param = w.param;
    defaults[param] = w.default;
    const div = document.createElement('div');
    div.className = 'field';
    div.innerHTML = `<label for="${param}"><span class="wlabel" data-key="${esc(w.key)}"></span> <output id="${param}-out" for="${param}"></output></label>
      <input id="${param}" name="${param}" type="range" min="${wmin}" max="${wmax}" step="1">`;
    box.append(div);
  }
  const [wl, wh, ws] = config.ranges.walk_m;
  Object.assign($('#walk_m'), { min: wl, max: wh, step: ws });
  const [ml, mh] = config.ranges.min_participants;
  Object.assign($('#min_participants'), { min: ml, max: mh });
  for (const k of Object.keys(defaults)) if (!(k in state.params)) state.params[k] = defaults[k];
}

function labelWeights() {
  for (const el of document.querySelectorAll('.wlabel')) {
    el.textContent = criterionLabel({ criterion: el.dataset.key, label: config.weights.find((w) => w.key === el.dataset.key)?.label });
    el.textContent = el.textContent.charAt(0).toUpperCase() + el.textContent.slice(1);
  }
}

function sliderIds() {
  return ['walk_m', 'min_participants', ...config.weights.map((w) => w.param)];
}

function showParams() {
  for (const id of sliderIds()) {
    const input = document.getElementById(id);
    input.value = state.params[id];
    const out = document.getElementById(`${id}-out`);
    const v = state.params[id];
    if (id === 'walk_m') out.textContent = `${num(v)} m`;
    else if (id.startsWith('w_')) out.textContent = v === 0 ? `0 (${t('weight.off')})` : num(v);
    else out.textContent = num(v);
    input.setAttribute('aria-valuetext', out.textContent);
  }
  for (const r of document.querySelectorAll('input[name="level"]')) r.checked = r.value === state.level;
}

function buildLegend() {
  const sw = (c, o = 0.8) => `<span class="swatch" style="background:${c};opacity:${o}" aria-hidden="true"></span>`;
  const ramp = `<span class="swatch ramp" aria-hidden="true" style="background:linear-gradient(90deg, rgba(0,114,178,.25), rgba(0,114,178,.9))"></span>`;
  $('#legend').innerHTML = `
    <li>${sw(COLOURS.geschikt)}<span>${esc(t('legend.geschikt'))}</span></li>
    <li>${sw(COLOURS.kansrijk)}<span>${esc(t('legend.kansrijk'))}</span></li>
    <li>${sw(COLOURS.ongeschikt)}<span>${esc(t('legend.ongeschikt'))}</span></li>
    <li>${sw(COLOURS.geen, 1)}<span>${esc(t('legend.geen'))}</span></li>
    <li>${ramp}<span>${esc(t('legend.shade'))}</span></li>
    <li><span class="swatch" style="background:rgba(204,121,167,.3);border:2px solid ${COLOURS.cluster}" aria-hidden="true"></span><span>${esc(t('legend.cluster'))}</span></li>
    <li><span class="swatch" style="border:2px dashed ${COLOURS.site};background:#fff" aria-hidden="true"></span><span>${esc(t('legend.site'))}</span></li>
    <li><span class="symbol" aria-hidden="true">⌂</span><span>${esc(t('legend.place'))}</span></li>
    <li><span class="symbol" aria-hidden="true">◎</span><span>${esc(t('legend.circle'))}</span></li>
    <li><span class="swatch" style="border:2px solid ${COLOURS.gemeente};background:#fff" aria-hidden="true"></span><span>${esc(t('legend.gemeente'))}</span></li>`;
}

// ---- scores, list and overlays ---------------------------------------------------------------

let scoresInFlight = false;
let scoresPending = false;
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
    const data = await getJSON(withQuery(`/api/v1/scores/${level}`, q));
    if (level === state.level) {
      const f = data.fields;
      rows = data.rows.map((r) => Object.fromEntries(f.map((k, i) => [k, r[i]])));
      rowsByCode = new Map(rows.map((r) => [r.code, r]));
      for (const r of rows) names.set(`${level}:${r.code}`, r.naam);
      renderList();
      renderShortlist();
      if (amap) {
        const paintedAt = await amap.applyScores(rows);
        atlas.scoresApplied++;
        if (inputAt !== null) {
          atlas.lastRecolour = { query: q, inputAt, paintedAt, ms: paintedAt - inputAt };
        }
      }
      setStatus('');
    }
  } catch (e) {
    atlas.errors.push(String(e.message || e));
    setStatus(explain(e), 'error');
  } finally {
    $('#ranked').removeAttribute('aria-busy');
    scoresInFlight = false;
    if (scoresPending || query() !== q || level !== state.level) scheduleScores();
  }
}

function inView() {
  if (!amap) return rows;
  const [w, s, e, n] = amap.bounds();
  return rows.filter((r) => r.bbox && r.bbox[0] <= e && r.bbox[2] >= w && r.bbox[1] <= n && r.bbox[3] >= s);
}

const CAT_ORDER = { geschikt: 0, kansrijk: 1, ongeschikt: 2 };

function sortRows(list) {
  const { key, dir } = state.sort;
  const sign = dir === 'asc' ? 1 : -1;
  const val = (r) => {
    switch (key) {
      case 'naam': return r.naam || '';
      case 'categorie': return CAT_ORDER[r.categorie] ?? 3;
      case 'rang': return r.rang ?? Infinity;
      default: return r.score ?? -Infinity;
    }
  };
  return list.slice().sort((a, b) => {
    const va = val(a);
    const vb = val(b);
    const c = typeof va === 'string' ? va.localeCompare(vb, 'nl') : va - vb;
    return c * sign || (b.score ?? -1) - (a.score ?? -1) || a.code.localeCompare(b.code);
  });
}

function renderList() {
  const visible = inView();
  const sorted = sortRows(visible).slice(0, LIST_MAX);
  $('#list-note').textContent = visible.length ? t('list.count', visible.length, sorted.length) : t('list.none');
  for (const th of document.querySelectorAll('#ranked th')) {
    const key = th.querySelector('button').dataset.sort;
    if (key === state.sort.key) th.setAttribute('aria-sort', state.sort.dir === 'asc' ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
  $('#ranked tbody').innerHTML = sorted.map((r) => `
    <tr data-code="${esc(r.code)}" class="${r.code === state.selected ? 'selected' : ''}">
      <td><button type="button" data-select="${esc(r.code)}">${esc(r.naam || r.code)}</button>
        <div class="note">${esc(gemeenteNames.get(r.gemeentecode) || r.gemeentecode || '')}</div></td>
      <td class="num">${r.score === null ? '—' : num(r.score)}</td>
      <td>${badge(r.categorie)}</td>
      <td class="num">${r.rang ? `${r.rang}/${r.rang_van}` : '—'}</td>
    </tr>`).join('');
}

async function loadOverlays(which = ['clusters', 'sites', 'places', 'circles']) {
  const q = query();
  await Promise.all(which.map(async (id) => {
    try {
      const needsParams = id === 'clusters' || id === 'sites';
      const fc = await getJSON(withQuery(`/ogc/v1/collections/${id}/items?limit=10000`, needsParams ? q : ''));
      if (!needsParams || q === query()) await amap?.setOverlay(id, fc);
    } catch (e) {
      // A collection closed to this role (401/403) is simply not drawn.
      if (!(e instanceof ApiError && (e.status === 401 || e.status === 403))) setStatus(explain(e), 'error');
    }
  }));
}

async function loadGemeenteNames() {
  try {
    const data = await getJSON('/api/v1/scores/gemeenten');
    const ci = data.fields.indexOf('code');
    const ni = data.fields.indexOf('naam');
    for (const r of data.rows) gemeenteNames.set(r[ci], r[ni]);
    renderList();
  } catch (e) {
    atlas.errors.push(String(e.message || e));
  }
}

// ---- the panel -----------------------------------------------------------------------------

let panelSeq = 0;
let panelFeature = null;

async function openPanel(code, { focus = false } = {}) {
  state.selected = code;
  amap?.setSelected(code);
  writeURL();
  for (const tr of document.querySelectorAll('#ranked tbody tr')) tr.classList.toggle('selected', tr.dataset.code === code);
  const panel = $('#panel');
  panel.hidden = false;
  const seq = ++panelSeq;
  const level = state.level;
  const row = rowsByCode.get(code);
  $('#panel-title').textContent = row?.naam || code;
  const body = $('#panel-body');
  body.setAttribute('aria-busy', 'true');
  if (!panelFeature || panelFeature.id !== code) body.innerHTML = `<p class="loading">${esc(t('panel.loading'))}</p>`;
  if (focus) $('#panel-title').focus?.();
  try {
    const f = await getJSON(withQuery(`/ogc/v1/collections/${level}/items/${encodeURIComponent(code)}`, query()));
    if (seq !== panelSeq) return;
    panelFeature = f;
    names.set(`${level}:${code}`, f.properties.naam);
    $('#panel-title').textContent = `${f.properties.naam} (${f.properties.code})`;
    body.innerHTML = renderPanel(f, { level, gemeenteName: gemeenteNames.get(f.properties.gemeentecode), inShortlist: inShortlist(level, code) });
    $('#panel-shortlist').addEventListener('click', () => toggleShortlist(level, code));
    $('#panel-zoom').addEventListener('click', () => amap?.fit(rowsByCode.get(code)?.bbox));
  } catch (e) {
    if (seq !== panelSeq) return;
    body.innerHTML = `<p class="result-error">${esc(t('panel.failed'))}: ${esc(explain(e))}</p>`;
  } finally {
    if (seq === panelSeq) body.removeAttribute('aria-busy');
  }
}

function closePanel() {
  state.selected = null;
  panelFeature = null;
  panelSeq++;
  $('#panel').hidden = true;
  amap?.setSelected(null);
  renderList();
  writeURL();
}

// ---- shortlist, comparison, exports -------------------------------------------------------------

function inShortlist(level, code) {
  return state.shortlist.some((s) => s.level === level && s.code === code);
}

function toggleShortlist(level, code) {
  if (inShortlist(level, code)) state.shortlist = state.shortlist.filter((s) => !(s.level === level && s.code === code));
  else state.shortlist.push({ level, code });
  renderShortlist();
  writeURL();
  const btn = $('#panel-shortlist');
  if (btn && state.selected === code) {
    const on = inShortlist(level, code);
    btn.textContent = t(on ? 'panel.remove' : 'panel.add');
    btn.setAttribute('aria-pressed', String(on));
  }
}

function renderShortlist() {
  const ol = $('#shortlist');
  ol.innerHTML = state.shortlist.map((s, i) => `
    <li class="shortlist-item"><span>${esc(names.get(`${s.level}:${s.code}`) || s.code)} <span class="note">${esc(s.code)}</span></span>
      <button type="button" class="icon" data-remove="${i}" aria-label="${esc(t('shortlist.remove'))} ${esc(s.code)}">✕</button></li>`).join('');
  $('#shortlist-empty').hidden = state.shortlist.length > 0;
  $('#shortlist-actions').hidden = state.shortlist.length === 0;
  amap?.setShortlist(state.shortlist.filter((s) => s.level === state.level).map((s) => s.code));
}

async function withShortlist(fn) {
  setStatus(t('shortlist.exporting'));
  try {
    const features = await shortlistFeatures(state.shortlist, query());
    setStatus('');
    return fn(features);
  } catch (e) {
    setStatus(explain(e), 'error');
    return null;
  }
}

function stamp() {
  return new Date().toISOString().slice(0, 10);
}

async function openCompare() {
  await withShortlist((features) => {
    const head = features.map((f) => `<th scope="col">${esc(f.properties.naam)}<div class="note">${esc(f.properties.code)}</div></th>`).join('');
    const row = (label, fn) => `<tr><th scope="row">${esc(label)}</th>${features.map((f) => `<td>${fn(f.properties)}</td>`).join('')}</tr>`;
    const crit = CRITERIA.map((key) => {
      const c0 = features[0]?.properties.toelichting?.criteria.find((c) => c.criterion === key);
      return row(criterionLabel(c0 || { criterion: key, label: key }), (p) => {
        const c = p.toelichting?.criteria.find((x) => x.criterion === key);
        return !c || c.missing ? `<span class="missing">${esc(t('unknown'))}</span>` : num(c.contribution);
      });
    }).join('');
    $('#compare-body').innerHTML = `<table class="compare"><thead><tr><td></td>${head}</tr></thead><tbody>
      ${row(t('col.score'), (p) => (p.score === null ? '—' : num(p.score)))}
      ${row(t('col.categorie'), (p) => badge(p.categorie))}
      ${row(t('col.rang'), (p) => (p.rang ? `${p.rang}/${p.rang_van}` : '—'))}
      ${row(t('panel.participants'), (p) => esc(p.deelnemers ?? t('unknown')))}
      ${FIGURES.map(([f, unit]) => row(t(`fig.${f}`), (p) => esc(num(p[f], unit)))).join('')}
      ${crit}
    </tbody></table>`;
    $('#compare-dialog').showModal();
  });
}

async function exportGeoJSON() {
  await withShortlist((features) => {
    const fc = featureCollection(features, { ...state.params });
    download(`buurtcirkel-shortlist-${stamp()}.geojson`, JSON.stringify(fc, null, 1), 'application/geo+json');
  });
}

async function exportCSV() {
  await withShortlist((features) => download(`buurtcirkel-shortlist-${stamp()}.csv`, toCSV(features), 'text/csv;charset=utf-8'));
}

async function openReport() {
  if (amap) {
    try {
      const png = await amap.snapshot();
      if (png) sessionStorage.setItem('atlas-report-snapshot', png);
    } catch {
      sessionStorage.removeItem('atlas-report-snapshot');
    }
  }
  const q = new URLSearchParams(location.search);
  window.open(`/web/report.html?${q.toString()}`, '_blank');
}

// ---- upload ---------------------------------------------------------------------------------

async function upload(ev) {
  ev.preventDefault();
  const token = $('#upload-token').value.trim();
  const file = $('#upload-file').files[0];
  const out = $('#upload-result');
  if (!file || !token) return;
  const btn = ev.target.querySelector('button[type="submit"]');
  btn.disabled = true;
  out.innerHTML = `<p class="loading">${esc(t('upload.busy'))}</p>`;
  try {
    const res = await request(`/api/v1/imports/clients?filename=${encodeURIComponent(file.name)}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'text/csv' },
      body: file,
    });
    const r = await res.json();
    const layers = r.layers || [];
    const accepted = layers.filter((l) => !l.skipped).reduce((n, l) => n + (l.features || 0), 0);
    const dropped = [...new Set(layers.flatMap((l) => l.columns_ignored || []))];
    const list = (items) => (items.length ? `<ul>${items.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : '<p>—</p>');
    out.innerHTML = `<div class="result-ok" data-outcome="ok"><p><strong>${esc(t('upload.ok'))}</strong></p>
      <p>${esc(t('upload.rows'))}: <strong data-field="rows">${accepted}</strong></p>
      <p>${esc(t('upload.dropped'))}:</p>${list(dropped)}
      <p>${esc(t('upload.warnings'))}:</p>${list(r.warnings || [])}
      ${(r.notes || []).length ? `<p>${esc(t('upload.notes'))}:</p>${list(r.notes)}` : ''}</div>`;
    $('#upload-file').value = '';
    // The snapshot was replaced: fetch what depends on client data again.
    scheduleScores();
    loadOverlays(['clusters', 'sites']);
    if (state.selected) openPanel(state.selected);
  } catch (e) {
    const detail = e instanceof ApiError && e.problem ? `${e.problem.title || ''}${e.problem.detail ? `: ${e.problem.detail}` : ''}` : explain(e);
    out.innerHTML = `<div class="result-error" data-outcome="error" role="alert"><p><strong>${esc(t('upload.failed'))}</strong></p>
      <pre style="white-space:pre-wrap">${esc(detail)}</pre></div>`;
  } finally {
    btn.disabled = false;
  }
}

// ---- search ---------------------------------------------------------------------------------

let searchTimer = null;
let searchSeq = 0;
let searchResults = [];
let searchActive = -1;

function showSearch(list) {
  const ul = $('#search-results');
  const input = $('#search-q');
  searchResults = list;
  searchActive = -1;
  if (!list) {
    ul.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    return;
  }
  ul.innerHTML = list.length
    ? list.map((r, i) => `<li role="option" id="sr-${i}" data-i="${i}" aria-selected="false">${esc(r.naam)} <span class="kind">${esc(t(`level.${r.collection}`))} · ${esc(r.code)}${r.gemeentenaam && r.collection !== 'gemeenten' ? ` · ${esc(r.gemeentenaam)}` : ''}</span></li>`).join('')
    : `<li class="note" aria-disabled="true">${esc(t('search.none'))}</li>`;
  ul.hidden = false;
  input.setAttribute('aria-expanded', 'true');
}

async function runSearch(text) {
  const seq = ++searchSeq;
  if (!text.trim()) return showSearch(null);
  try {
    const data = await getJSON(`/api/v1/search?q=${encodeURIComponent(text.trim())}&limit=10`);
    if (seq === searchSeq) showSearch(data.results);
  } catch (e) {
    if (seq === searchSeq) {
      showSearch([]);
      $('#search-results').innerHTML = `<li class="note">${esc(t('search.failed'))}: ${esc(explain(e))}</li>`;
    }
  }
}

async function choose(r) {
  showSearch(null);
  $('#search-q').value = r.naam;
  if (r.collection !== 'gemeenten' && r.collection !== state.level) await switchLevel(r.collection);
  amap?.fit(r.bbox);
  if (r.collection !== 'gemeenten') openPanel(r.code, { focus: true });
}

// ---- wiring ---------------------------------------------------------------------------------

async function switchLevel(level) {
  if (level === state.level) return;
  state.level = level;
  if (state.selected) closePanel();
  rows = [];
  rowsByCode = new Map();
  renderList();
  showParams();
  writeURL();
  await amap?.setLevel(level, query());
  renderShortlist();
  scheduleScores();
}

function onParamInput(ev) {
  const id = ev.target.id;
  state.params[id] = Number(ev.target.value);
  lastInputAt = performance.now();
  showParams();
  writeURL();
  scheduleScores();
  scheduleDependent(id);
}

let dependentTimer = null;
let dependentWalk = false;
function scheduleDependent(id) {
  // Panel and overlays follow a little behind the colours: they are larger answers.
  if (id === 'walk_m' || id === 'min_participants') dependentWalk = true;
  clearTimeout(dependentTimer);
  dependentTimer = setTimeout(() => {
    if (state.selected) openPanel(state.selected);
    if (dependentWalk) loadOverlays(['clusters', 'sites']);
    dependentWalk = false;
  }, 150);
}

function resetParams() {
  for (const k of Object.keys(defaults)) state.params[k] = defaults[k];
  for (const k of Object.keys(state.params)) if (!(k in defaults)) delete state.params[k];
  lastInputAt = performance.now();
  showParams();
  writeURL();
  scheduleScores();
  dependentWalk = true;
  scheduleDependent('walk_m');
}

function retranslate() {
  translatePage();
  $('#lang').textContent = getLang() === 'nl' ? 'EN' : 'NL';
  $('#lang').setAttribute('aria-label', getLang() === 'nl' ? 'Switch to English' : 'Naar Nederlands');
  labelWeights();
  showParams();
  buildLegend();
  renderList();
  renderShortlist();
  amap?.translate({ label: t('map.label'), zoomIn: t('map.zoomin'), zoomOut: t('map.zoomout') });
  if (state.selected && panelFeature) {
    $('#panel-body').innerHTML = renderPanel(panelFeature, { level: state.level, gemeenteName: gemeenteNames.get(panelFeature.properties.gemeentecode), inShortlist: inShortlist(state.level, state.selected) });
    $('#panel-shortlist').addEventListener('click', () => toggleShortlist(state.level, state.selected));
    $('#panel-zoom').addEventListener('click', () => amap?.fit(rowsByCode.get(state.selected)?.bbox));
  }
}

function bind() {
  for (const id of sliderIds()) document.getElementById(id).addEventListener('input', onParamInput);
  for (const r of document.querySelectorAll('input[name="level"]')) r.addEventListener('change', () => switchLevel(r.value));
  $('#reset').addEventListener('click', resetParams);
  $('#panel-close').addEventListener('click', closePanel);
  $('#lang').addEventListener('click', () => {
    setLang(getLang() === 'nl' ? 'en' : 'nl');
    retranslate();
    writeURL();
  });
  for (const b of document.querySelectorAll('#ranked th button')) {
    b.addEventListener('click', () => {
      const key = b.dataset.sort;
      state.sort = state.sort.key === key
        ? { key, dir: state.sort.dir === 'asc' ? 'desc' : 'asc' }
        : { key, dir: key === 'naam' || key === 'rang' ? 'asc' : 'desc' };
      renderList();
      writeURL();
    });
  }
  $('#ranked tbody').addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-code]');
    if (tr) openPanel(tr.dataset.code);
  });
  $('#shortlist').addEventListener('click', (e) => {
    const b = e.target.closest('button[data-remove]');
    if (!b) return;
    const s = state.shortlist[Number(b.dataset.remove)];
    if (s) toggleShortlist(s.level, s.code);
  });
  $('#compare').addEventListener('click', openCompare);
  $('#compare-close').addEventListener('click', () => $('#compare-dialog').close());
  $('#export-geojson').addEventListener('click', exportGeoJSON);
  $('#export-csv').addEventListener('click', exportCSV);
  $('#report').addEventListener('click', openReport);
  $('#upload-form').addEventListener('submit', upload);
  const input = $('#search-q');
  input.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => runSearch(input.value), 200);
  });
  input.addEventListener('keydown', (e) => {
    const n = searchResults?.length || 0;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      if (!n) return;
      e.preventDefault();
      searchActive = (searchActive + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
      for (const li of document.querySelectorAll('#search-results li[role="option"]')) li.setAttribute('aria-selected', String(Number(li.dataset.i) === searchActive));
      input.setAttribute('aria-activedescendant', `sr-${searchActive}`);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      if (n) choose(searchResults[Math.max(0, searchActive)]);
    } else if (e.key === 'Escape') {
      showSearch(null);
    }
  });
  $('#search').addEventListener('submit', (e) => e.preventDefault());
  $('#search-results').addEventListener('click', (e) => {
    const li = e.target.closest('li[data-i]');
    if (li) choose(searchResults[Number(li.dataset.i)]);
  });
  document.addEventListener('click', (e) => {
    if (!e.target.closest('#search')) showSearch(null);
  });
}

async function boot() {
  // Start MapLibre's tile workers now, while the configuration loads: a worker takes a few
  // hundred milliseconds to start on a slow machine, and the first tiles wait for it.
  if (typeof maplibregl !== 'undefined') {
    maplibregl.prewarm();
  }
  readURL();
  retranslateStatic();
  setStatus(t('status.loading'));
  config = await loadConfig();
  performance.mark('atlas-config');
  setStatus('');
  buildControls();
  if (!state.level) state.level = config.levels.buurten > 0 ? 'buurten' : 'wijken';
  retranslate();
  bind();
  const q = query();
  if (typeof maplibregl === 'undefined') {
    setStatus(t('status.nomaplib'), 'error');
  } else {
    try {
      amap = new AtlasMap($('#map'), {
        level: state.level,
        query: q,
        labels: { label: t('map.label'), zoomIn: t('map.zoomin'), zoomOut: t('map.zoomout') },
        center: state.view?.center,
        zoom: state.view?.zoom,
        bounds: config.extent,
        basemap: config.basemap,
        onClick: (code) => openPanel(code),
        onMove: () => { renderList(); writeURL(); },
        onBasemapError: () => setStatus(t('status.basemap')),
        onError: (e) => atlas.errors.push(String(e?.message || e)),
        onFirstPaint: (ms) => { atlas.firstPaint = ms; },
        onFirstShown: (ms) => { atlas.firstShown = ms; },
      });
      atlas.map = amap.map;
      performance.mark('atlas-map-created');
      await amap.setLevel(state.level, q);
      performance.mark('atlas-areas-added');
      renderShortlist();
    } catch (e) {
      amap = null;
      setStatus(t('status.nowebgl'), 'error');
      atlas.errors.push(String(e.message || e));
    }
  }
  // The first tiles already carry the colours of these parameters: let them draw first, then
  // fetch the list data and overlays, so they do not compete for the network and main thread.
  if (amap) {
    await new Promise((resolve) => {
      if (atlas.firstPaint) return resolve();
      const timer = setTimeout(resolve, 3000);
      amap.map.on('render', function check() {
        if (atlas.firstPaint) {
          clearTimeout(timer);
          amap.map.off('render', check);
          resolve();
        }
      });
    });
  }
  loadGemeenteNames();
  scheduleScores();
  if (amap) loadOverlays();
  if (state.selected) openPanel(state.selected);
  writeURL();
  atlas.ready = true;
}

function retranslateStatic() {
  translatePage();
}

boot();
