// The MapLibre map: area fills from the service's vector tiles, recoloured through feature
// state when the analysis parameters change (the tiles themselves never need to be fetched
// again), gemeente outlines, generalised clusters and sites, meeting places and circles.
//
// No glyphs, sprites or styles are loaded from anywhere: the style is built here and the two
// symbols are drawn on a canvas, so without a configured basemap the page asks no host but the
// service.

import { t } from './i18n.js';
import { withPlannerAuth } from './planner.js';

export const COLOURS = {
  geschikt: '#0072b2',
  kansrijk: '#e69f00',
  ongeschikt: '#9aa3ad',
  geen: '#ffffff',
  cluster: '#cc79a7',
  site: '#009e73',
  gemeente: '#2b2b2b',
  selected: '#1d2430',
  shortlist: '#b34700',
};

/** @typedef {import('maplibre-gl').ExpressionSpecification} Expression */
/** @typedef {import('maplibre-gl').AddLayerObject} Layer */

/** @type {Expression} */
const CAT = ['coalesce', ['feature-state', 'c'], ['get', 'categorie'], 'geen'];
/** @type {Expression} */
const SCORE = ['coalesce', ['feature-state', 's'], ['get', 'score'], -1];

/** Opacity for a score: stronger colour for a higher score (the legend says so). */
/** @param {number | null | undefined} score */
export function scoreOpacity(score) {
  if (score === null || score === undefined || score < 0) return 0.5;
  return 0.25 + (0.65 * Math.max(0, Math.min(100, score))) / 100;
}

/**
 * @param {(g: CanvasRenderingContext2D, size: number) => void} draw
 * @returns {ImageData}
 */
function icon(draw) {
  const size = 24;
  const c = document.createElement('canvas');
  c.width = c.height = size;
  const g = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d'));
  draw(g, size);
  return g.getImageData(0, 0, size, size);
}

const PLACE_ICON = () => icon((g, s) => {
  // A small house: a meeting place.
  g.fillStyle = '#ffffff';
  g.strokeStyle = '#1d2430';
  g.lineWidth = 2;
  g.beginPath();
  g.moveTo(s / 2, 3); g.lineTo(s - 3, s / 2 - 1); g.lineTo(s - 5, s / 2 - 1); g.lineTo(s - 5, s - 3);
  g.lineTo(5, s - 3); g.lineTo(5, s / 2 - 1); g.lineTo(3, s / 2 - 1); g.closePath();
  g.fill(); g.stroke();
});

const CIRCLE_ICON = () => icon((g, s) => {
  // Two rings: an existing Buurtcirkel.
  g.lineWidth = 3;
  g.strokeStyle = '#ffffff';
  g.beginPath(); g.arc(s / 2, s / 2, s / 2 - 3, 0, 2 * Math.PI); g.stroke();
  g.lineWidth = 2.5;
  g.strokeStyle = '#6a1b4d';
  g.beginPath(); g.arc(s / 2, s / 2, s / 2 - 3, 0, 2 * Math.PI); g.stroke();
  g.fillStyle = '#6a1b4d';
  g.beginPath(); g.arc(s / 2, s / 2, 3.5, 0, 2 * Math.PI); g.fill();
});

/**
 * @param {string} collection
 * @param {string} query
 */
function tileUrl(collection, query) {
  const q = query ? `?${query}` : '';
  return `${location.origin}/ogc/v1/collections/${collection}/tiles/WebMercatorQuad/{z}/{y}/{x}${q}`;
}

/** @type {GeoJSON.FeatureCollection} */
const EMPTY = { type: 'FeatureCollection', features: [] };

/** @type {Layer} */
const GEMEENTE_LINE = { id: 'gemeente-line', type: 'line', source: 'gemeenten', 'source-layer': 'gemeenten', paint: { 'line-color': COLOURS.gemeente, 'line-width': ['interpolate', ['linear'], ['zoom'], 6, 1, 12, 2.5] } };

/**
 * @param {string} level
 * @param {string} query
 * @returns {import('maplibre-gl').VectorSourceSpecification}
 */
function areaSource(level, query) {
  return { type: 'vector', tiles: [tileUrl(level, query)], minzoom: 0, maxzoom: 16, promoteId: 'code' };
}

/**
 * The area layers of `level`: fill by category and score, outline, shortlist and selection.
 * @param {string} level
 * @param {string[]} shortlist
 * @param {string | null} selected
 * @returns {Layer[]}
 */
function areaLayers(level, shortlist, selected) {
  return [
    {
      id: 'area-fill', type: 'fill', source: 'areas', 'source-layer': level,
      paint: {
        'fill-outline-color': '#ffffff',
        'fill-color': ['match', CAT, 'geschikt', COLOURS.geschikt, 'kansrijk', COLOURS.kansrijk, 'ongeschikt', COLOURS.ongeschikt, COLOURS.geen],
        'fill-opacity': ['case', ['<', SCORE, 0], 0.5, ['interpolate', ['linear'], SCORE, 0, 0.25, 100, 0.9]],
      },
    },
    { id: 'area-shortlist', type: 'line', source: 'areas', 'source-layer': level, filter: ['in', ['get', 'code'], ['literal', shortlist]], paint: { 'line-color': COLOURS.shortlist, 'line-width': 3, 'line-dasharray': [2, 1] } },
    { id: 'area-selected', type: 'line', source: 'areas', 'source-layer': level, filter: ['==', ['get', 'code'], selected ?? ''], paint: { 'line-color': COLOURS.selected, 'line-width': 4 } },
  ];
}

/**
 * @typedef {object} MapOptions
 * @property {string} [level] the areas to draw in the first style
 * @property {string} [query] the analysis parameters of their tiles
 * @property {{ label: string, zoomIn: string, zoomOut: string }} [labels]
 * @property {[number, number]} [center]
 * @property {number} [zoom]
 * @property {[number, number, number, number] | null} [bounds] the first view without centre and zoom
 * @property {{ url: string, attribution?: string } | null} [basemap]
 * @property {(code: string) => void} [onClick]
 * @property {() => void} [onMove]
 * @property {() => void} [onBasemapError]
 * @property {(e: unknown) => void} [onError]
 * @property {(ms: number) => void} [onFirstPaint]
 * @property {(ms: number) => void} [onFirstShown]
 */

export class AtlasMap {
  /**
   * @param {HTMLElement} container
   * @param {MapOptions} opts
   */
  constructor(container, opts) {
    this.opts = opts;
    /** @type {string | null} */
    this.level = null;
    /** @type {string | undefined} */
    this.query = undefined;
    /** @type {string | null} */
    this.selected = null;
    /** @type {string[]} */
    this.shortlist = [];
    /** @type {number | null} */
    this.firstPaint = null;
    this.clickBound = false;
    /** @type {import('maplibre-gl').Popup | null} */
    this.lastPopup = null;
    /** @type {import('maplibre-gl').StyleSpecification & { sources: Record<string, import('maplibre-gl').SourceSpecification>, layers: import('maplibre-gl').LayerSpecification[] }} */
    const style = {
      version: 8,
      // No paint transitions and no symbol fading: every animation frame is a full redraw,
      // and in software rendering (no GPU) a frame costs 70-250 ms, so a 300 ms fade after
      // each added layer kept the main thread busy while the first tiles were waiting.
      transition: { duration: 0, delay: 0 },
      sources: {},
      layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef0ec' } }],
    };
    if (opts.basemap) {
      style.sources.basemap = {
        type: 'raster', tiles: [opts.basemap.url], tileSize: 256,
        attribution: opts.basemap.attribution || '',
      };
      style.layers.push({ id: 'basemap', type: 'raster', source: 'basemap', paint: { 'raster-opacity': 0.8 } });
    }
    // The areas are part of the first style, so their tiles are asked for in the very first
    // frame rather than after the 'load' event (two or three frames later, a few hundred
    // milliseconds in software rendering). The gemeente outlines follow on 'load', which comes
    // once the areas are in: they do not compete with them for the tile worker.
    if (opts.level) {
      this.level = opts.level;
      this.query = opts.query;
      style.sources.areas = areaSource(opts.level, opts.query ?? '');
      style.layers.push(.../** @type {import('maplibre-gl').LayerSpecification[]} */ (areaLayers(opts.level, [], null)));
    }
    /** @type {Partial<NonNullable<MapOptions['labels']>>} */
    const l = opts.labels || {};
    /** @type {import('maplibre-gl').MapOptions} */
    const init = { container, style, locale: { 'Map.Title': l.label, 'NavigationControl.ZoomIn': l.zoomIn, 'NavigationControl.ZoomOut': l.zoomOut }, fadeDuration: 0, transformRequest: withPlannerAuth, attributionControl: false, dragRotate: false, pitchWithRotate: false, maxZoom: 16.9 };
    if (opts.center && opts.zoom !== undefined) {
      init.center = opts.center;
      init.zoom = opts.zoom;
    } else if (opts.bounds) {
      init.bounds = opts.bounds;
      init.fitBoundsOptions = { padding: 20 };
    } else {
      init.center = [5.3, 52.1];
      init.zoom = 7;
    }
    this.map = new maplibregl.Map(init);
    this.map.touchZoomRotate.disableRotation();
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-left');
    this.map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-left');
    this.map.addControl(new maplibregl.AttributionControl({ compact: false, customAttribution: 'CBS, Kadaster' }), 'bottom-right');
    /** @type {Promise<void>} */
    this.ready = new Promise((resolve) => this.map.once('load', () => { performance.mark('atlas-map-load'); resolve(); }));
    this.map.on('error', (/** @type {import('maplibre-gl').MapLibreEvent & { sourceId?: string, source?: { id?: string }, error: Error & { url?: string } }} */ e) => {
      // A basemap that cannot be reached falls back to the plain background, quietly: the
      // page says so once in the status bar.
      if (e.sourceId === 'basemap' || (e.source && e.source.id === 'basemap') || String(e.error?.url || '').startsWith(opts.basemap?.url?.split('{')[0] || '\u0000')) {
        if (this.map.getLayer('basemap')) this.map.removeLayer('basemap');
        opts.onBasemapError?.();
        return;
      }
      opts.onError?.(e.error || e);
    });
    this.map.on('moveend', () => opts.onMove?.());
    this.map.on('render', () => {
      if (this.firstPaint === null && this.level && this.map.getSource('areas') && this.map.isSourceLoaded('areas')) {
        this.firstPaint = performance.now();
        performance.mark('atlas-first-map-paint');
        opts.onFirstPaint?.(this.firstPaint);
        // The next animation frame starts once the browser has taken this frame to the screen
        // (in software rendering that is a read-back of the whole canvas, 100-200 ms).
        requestAnimationFrame(() => {
          performance.mark('atlas-first-map-shown');
          opts.onFirstShown?.(performance.now());
        });
      }
    });
    this.ready.then(() => this.addStaticLayers());
  }

  addStaticLayers() {
    const m = this.map;
    m.addImage('place', PLACE_ICON());
    m.addImage('circle', CIRCLE_ICON());
    m.addSource('gemeenten', { type: 'vector', tiles: [tileUrl('gemeenten', '')], minzoom: 0, maxzoom: 16, promoteId: 'code' });
    m.addLayer(GEMEENTE_LINE);
    for (const id of ['clusters', 'sites', 'places', 'circles']) m.addSource(id, { type: 'geojson', data: EMPTY });
    // Clusters are outlines only: a fill would mix with the category colours underneath and
    // the legend would no longer match what is drawn.
    m.addLayer({ id: 'cluster-line', type: 'line', source: 'clusters', paint: { 'line-color': COLOURS.cluster, 'line-width': 2.5 } });
    m.addLayer({ id: 'site-line', type: 'line', source: 'sites', paint: { 'line-color': COLOURS.site, 'line-width': 1.5, 'line-dasharray': [2, 2] } });
    m.addLayer({ id: 'circle-area', type: 'line', source: 'circles', filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': '#6a1b4d', 'line-width': 2.5 } });
    m.addLayer({ id: 'circle-symbol', type: 'symbol', source: 'circles', layout: { 'icon-image': 'circle', 'icon-allow-overlap': true } });
    m.addLayer({ id: 'place-symbol', type: 'symbol', source: 'places', layout: { 'icon-image': 'place', 'icon-allow-overlap': true } });
    // One popup for everything under the pointer: a circle often meets at a meeting place.
    m.on('click', (e) => {
      const hits = m.queryRenderedFeatures(e.point, { layers: ['place-symbol', 'circle-symbol'] });
      if (hits.length) this.popup(hits);
    });
    for (const id of ['place-symbol', 'circle-symbol']) {
      m.on('mouseenter', id, () => { m.getCanvas().style.cursor = 'pointer'; });
      m.on('mouseleave', id, () => { m.getCanvas().style.cursor = ''; });
    }
  }

  /**
   * A popup naming the meeting places and circles `features` and their type.
   * @param {import('maplibre-gl').MapGeoJSONFeature[]} features
   */
  popup(features) {
    const el = document.createElement('div');
    el.className = 'feature-popup';
    for (const f of features) {
      const kind = f.layer.id === 'place-symbol' ? 'place' : 'circle';
      const p = f.properties || {};
      const item = document.createElement('p');
      item.dataset.kind = kind;
      const h = document.createElement('strong');
      h.textContent = String(p.naam || t(kind === 'place' ? 'popup.place' : 'popup.circle'));
      item.append(h, document.createElement('br'), kind === 'place' ? `${t('popup.place')}${p.soort ? ` (${p.soort})` : ''}` : t('popup.circle'));
      el.appendChild(item);
    }
    const g = features[0].geometry;
    const at = g.type === 'Point' ? /** @type {[number, number]} */ (g.coordinates) : this.map.getCenter().toArray();
    this.lastPopup?.remove();
    this.lastPopup = new maplibregl.Popup({ closeButton: true, closeOnClick: true, offset: 14 }).setLngLat(at).setDOMContent(el).addTo(this.map);
  }

  /** Whether a meeting place or circle symbol lies under the page point `p` (canvas pixels).
   * @param {import('maplibre-gl').PointLike} p */
  symbolAt(p) {
    const layers = ['place-symbol', 'circle-symbol'].filter((id) => this.map.getLayer(id));
    return layers.length > 0 && this.map.queryRenderedFeatures(p, { layers }).length > 0;
  }

  /**
   * Shows the areas of `level` from tiles made with the analysis parameters `query`.
   * @param {string} level
   * @param {string} query
   */
  async setLevel(level, query) {
    await this.ready;
    const m = this.map;
    if (level !== this.level || query !== this.query || !m.getSource('areas')) {
      for (const id of ['area-fill', 'area-line', 'area-shortlist', 'area-selected']) if (m.getLayer(id)) m.removeLayer(id);
      if (m.getSource('areas')) m.removeSource('areas');
      this.level = level;
      this.query = query;
      this.firstPaint = null;
      m.addSource('areas', areaSource(level, query));
      for (const l of areaLayers(level, this.shortlist, this.selected)) m.addLayer(l, 'gemeente-line');
    }
    if (!this.clickBound) {
      this.clickBound = true;
      m.on('click', 'area-fill', (e) => {
        const f = e.features && e.features[0];
        // A click on a meeting place or circle opens its popup, not the area under it.
        if (f && !this.symbolAt(e.point)) this.opts.onClick?.(String(f.properties.code));
      });
      m.on('mouseenter', 'area-fill', () => { m.getCanvas().style.cursor = 'pointer'; });
      m.on('mouseleave', 'area-fill', () => { m.getCanvas().style.cursor = ''; });
    }
  }

  /**
   * Recolours the areas from score rows ({code, score, categorie}) through feature state.
   * Resolves when the map has drawn the new colours, with that moment (`performance.now()`).
   * @param {{ code: string, score: number | null, categorie: string | null }[]} rows
   * @returns {Promise<number | undefined>} undefined when there are no areas to colour
   */
  applyScores(rows) {
    const m = this.map;
    if (!m.getSource('areas') || !this.level) return Promise.resolve(undefined);
    const layer = this.level;
    for (const r of rows) {
      m.setFeatureState({ source: 'areas', sourceLayer: layer, id: r.code }, { s: r.score ?? -1, c: r.categorie ?? 'geen' });
    }
    return new Promise((resolve) => {
      m.once('render', () => resolve(performance.now()));
      m.triggerRepaint();
    });
  }

  /** @param {string | null} code */
  setSelected(code) {
    this.selected = code;
    if (this.map.getLayer('area-selected')) this.map.setFilter('area-selected', ['==', ['get', 'code'], code ?? '']);
  }

  /**
   * The map's own labels (canvas and zoom buttons) in the page's language.
   * @param {{ label: string, zoomIn: string, zoomOut: string }} labels
   */
  translate({ label, zoomIn, zoomOut }) {
    const c = this.map.getContainer();
    this.map.getCanvas().setAttribute('aria-label', label);
    for (const [sel, text] of [['.maplibregl-ctrl-zoom-in', zoomIn], ['.maplibregl-ctrl-zoom-out', zoomOut]]) {
      const b = /** @type {HTMLElement | null} */ (c.querySelector(sel));
      if (b) { b.title = text; b.setAttribute('aria-label', text); }
    }
  }

  /** @param {string[]} codes */
  setShortlist(codes) {
    this.shortlist = codes;
    if (this.map.getLayer('area-shortlist')) this.map.setFilter('area-shortlist', ['in', ['get', 'code'], ['literal', codes]]);
  }

  /**
   * @param {string} id one of the GeoJSON overlays (clusters, sites, places, circles)
   * @param {GeoJSON.FeatureCollection | null} geojson
   */
  async setOverlay(id, geojson) {
    await this.ready;
    /** @type {import('maplibre-gl').GeoJSONSource | undefined} */ (this.map.getSource(id))?.setData(geojson || EMPTY);
  }

  /** @param {[number, number, number, number] | null | undefined} bbox */
  fit(bbox) {
    if (!bbox) return;
    this.map.fitBounds([[bbox[0], bbox[1]], [bbox[2], bbox[3]]], { padding: 40, maxZoom: 15, duration: 0 });
  }

  /**
   * Moves the map to the centre of `bbox`, keeping the zoom unless the box does not fit.
   * @param {[number, number, number, number]} bbox
   */
  panTo(bbox) {
    const m = this.map;
    const c = m.getCanvas();
    const a = m.project([bbox[0], bbox[3]]);
    const b = m.project([bbox[2], bbox[1]]);
    if (Math.abs(b.x - a.x) > c.clientWidth * 0.9 || Math.abs(b.y - a.y) > c.clientHeight * 0.9) this.fit(bbox);
    else m.jumpTo({ center: [(bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2] });
  }

  /** @returns {[number, number, number, number]} west, south, east, north */
  bounds() {
    const b = this.map.getBounds();
    return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
  }

  /** @returns {import('./store.js').View} */
  view() {
    const c = this.map.getCenter();
    return { center: [c.lng, c.lat], zoom: this.map.getZoom() };
  }

  /** The map as a PNG data URL, taken right after a fresh frame (no preserved buffer needed). */
  /** @returns {Promise<string | null>} */
  snapshot() {
    return new Promise((resolve) => {
      this.map.once('render', () => {
        try {
          resolve(this.map.getCanvas().toDataURL('image/png'));
        } catch {
          resolve(null);
        }
      });
      this.map.triggerRepaint();
    });
  }
}
