// Orientation on the map: names of the gemeenten (below zoom 11) and of the wijken or buurten
// (from zoom 11) drawn as an HTML layer over the canvas, a hover tooltip with name, score and
// category, and the choice of the first level and view from the data's coverage.
//
// Why HTML and not MapLibre symbol layers: symbol text needs glyph PBFs, which means shipping a
// font (and its licence) and serving it, and every label would cost glyph requests and a symbol
// placement pass in software rendering. The names and boxes are already in the page (the score
// rows carry `naam` and `bbox`), a few dozen absolutely positioned elements redraw for free,
// and the text is real text for screen readers and in screenshots. Labels sit at the centre of
// the area's box, at most MAX_LABELS of them, and a label that would overlap one already placed
// (larger areas first) is left out.

import { t } from './i18n.js';
import { state, data } from './store.js';

/** From this zoom the areas themselves are named instead of the gemeenten. */
export const AREA_LABEL_ZOOM = 11;
const MAX_LABELS = 80;

/** @typedef {[number, number, number, number]} BBox */

/**
 * @typedef {object} LabelItem
 * @property {string} code
 * @property {string} naam
 * @property {BBox} bbox
 */

/** @param {BBox} b */
const boxArea = (b) => Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);

/**
 * The part of `view` covered by the union of `boxes` (approximated on a 24 x 24 grid).
 * @param {BBox[]} boxes
 * @param {BBox} view
 */
export function coveredShare(boxes, view) {
  const n = 24;
  let hit = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const x = view[0] + ((i + 0.5) / n) * (view[2] - view[0]);
      const y = view[1] + ((j + 0.5) / n) * (view[3] - view[1]);
      if (boxes.some((b) => x >= b[0] && x <= b[2] && y >= b[1] && y <= b[3])) hit++;
    }
  }
  return hit / (n * n);
}

/**
 * The union of boxes, or null.
 * @param {BBox[]} boxes
 * @returns {BBox | null}
 */
export function unionBox(boxes) {
  if (!boxes.length) return null;
  return boxes.reduce((a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])]);
}

/**
 * The first level and view of a page without them in the URL: the view is where the finest
 * data is (the gemeenten buurten are loaded for, usually those with clients), else the whole
 * extent; the level is buurten when they cover most of that view, else wijken, with a note.
 * @param {{ levels: Record<string, number>, extent: BBox | null, coverage?: Record<string, Record<string, BBox>> }} config
 * @param {'buurten' | 'wijken' | null} urlLevel
 * @param {BBox | null} urlView the view of the URL, as a box (null: none)
 * @returns {{ level: 'buurten' | 'wijken', bounds: BBox | null, note: string | null }}
 */
export function firstView(config, urlLevel, urlView) {
  const buurtBoxes = Object.values(config.coverage?.buurten || {});
  const gemeenten = Object.keys(config.coverage?.buurten || {}).length;
  const bounds = urlView ? null : unionBox(buurtBoxes) || config.extent;
  if (urlLevel) return { level: urlLevel, bounds, note: null };
  if (!config.levels.buurten) return { level: 'wijken', bounds, note: null };
  const view = urlView || bounds;
  const share = view ? coveredShare(buurtBoxes, view) : 1;
  if (share >= 0.3) return { level: 'buurten', bounds, note: null };
  return { level: 'wijken', bounds, note: t('note.wijken', gemeenten, Math.round(share * 100)) };
}

/**
 * The names on the map and the hover tooltip.
 */
export class Orientation {
  /**
   * @param {import('maplibre-gl').Map} map
   * @param {() => LabelItem[]} gemeenten the gemeenten with name and box
   */
  constructor(map, gemeenten) {
    this.map = map;
    this.gemeenten = gemeenten;
    const container = map.getContainer();
    this.layer = document.createElement('div');
    this.layer.className = 'map-labels';
    this.layer.setAttribute('aria-hidden', 'true');
    container.appendChild(this.layer);
    this.tip = document.createElement('div');
    this.tip.className = 'map-tooltip';
    this.tip.setAttribute('role', 'tooltip');
    this.tip.id = 'map-tooltip';
    this.tip.hidden = true;
    container.appendChild(this.tip);
    this.frame = 0;
    map.on('move', () => this.schedule());
    map.on('resize', () => this.schedule());
    map.on('mousemove', 'area-fill', (e) => this.hover(e));
    map.on('mouseleave', 'area-fill', () => { this.tip.hidden = true; });
    map.getCanvas().addEventListener('mouseleave', () => { this.tip.hidden = true; });
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  /** The items to name at the current zoom: gemeenten, or the areas of the level. */
  items() {
    if (this.map.getZoom() < AREA_LABEL_ZOOM) return { kind: 'gemeente', list: this.gemeenten() };
    /** @type {LabelItem[]} */
    const list = [];
    for (const r of data.rows) if (r.bbox && r.naam) list.push({ code: r.code, naam: r.naam, bbox: r.bbox });
    return { kind: state.level || 'area', list };
  }

  draw() {
    const m = this.map;
    const b = m.getBounds();
    const [w, s, e, n] = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
    const { kind, list } = this.items();
    const inView = list
      .filter((it) => {
        const cx = (it.bbox[0] + it.bbox[2]) / 2;
        const cy = (it.bbox[1] + it.bbox[3]) / 2;
        return cx > w && cx < e && cy > s && cy < n;
      })
      .sort((a, b2) => boxArea(b2.bbox) - boxArea(a.bbox));
    /** @type {[number, number, number, number][]} */
    const placed = [];
    const frag = document.createDocumentFragment();
    for (const it of inView) {
      if (placed.length >= MAX_LABELS) break;
      const p = m.project([(it.bbox[0] + it.bbox[2]) / 2, (it.bbox[1] + it.bbox[3]) / 2]);
      // The label's box, estimated from its length (7 px a character at 12 px).
      const half = (it.naam.length * 7) / 2 + 4;
      const r = /** @type {[number, number, number, number]} */ ([p.x - half, p.y - 9, p.x + half, p.y + 9]);
      if (placed.some((q) => r[0] < q[2] && r[2] > q[0] && r[1] < q[3] && r[3] > q[1])) continue;
      placed.push(r);
      const el = document.createElement('span');
      el.className = `map-label map-label-${kind}`;
      el.textContent = it.naam;
      el.dataset.code = it.code;
      el.style.transform = `translate(${Math.round(p.x)}px, ${Math.round(p.y)}px) translate(-50%, -50%)`;
      frag.appendChild(el);
    }
    this.layer.replaceChildren(frag);
    this.layer.dataset.kind = kind;
  }

  /** @param {import('maplibre-gl').MapLayerMouseEvent} e */
  hover(e) {
    const f = e.features && e.features[0];
    if (!f) return;
    const code = String(f.properties.code);
    const row = data.rowsByCode.get(code);
    const st = f.state || {};
    const score = row ? row.score : (st.s ?? f.properties.score);
    const cat = row ? row.categorie : (st.c ?? f.properties.categorie);
    const naam = row?.naam || f.properties.naam || code;
    const scoreText = score === null || score === undefined || score < 0 ? t('tip.noscore') : `${t('tip.score')} ${Number(score).toLocaleString(state.lang === 'nl' ? 'nl-NL' : 'en-GB', { maximumFractionDigits: 1 })}`;
    const catText = cat && cat !== 'geen' ? t(`cat.${cat}`) : '';
    this.tip.replaceChildren();
    const strong = document.createElement('strong');
    strong.textContent = naam;
    this.tip.append(strong, document.createElement('br'), `${scoreText}${catText ? ` · ${catText}` : ''}`);
    this.tip.dataset.code = code;
    const x = Math.min(e.point.x + 14, this.map.getCanvas().clientWidth - 220);
    this.tip.style.transform = `translate(${Math.max(0, x)}px, ${e.point.y + 14}px)`;
    this.tip.hidden = false;
  }
}
