// What lies near an area, from the published overlays the page already has (places, circles,
// sites): the nearest meeting place and any existing circle with their distance to the area,
// and the candidate sites of one area without duplicates. Distances are in metres on a local
// equirectangular projection (good to a few metres at the scale of a buurt); inside the area
// the distance is 0.

/** @typedef {[number, number, number, number]} BBox */

const R = 6371008.8;

/**
 * Projects lon/lat to metres around latitude `lat0`.
 * @param {number[]} p
 * @param {number} lat0
 * @returns {[number, number]}
 */
function metres(p, lat0) {
  const k = (Math.PI / 180) * R;
  return [p[0] * k * Math.cos((lat0 * Math.PI) / 180), p[1] * k];
}

/**
 * The rings of a Polygon or MultiPolygon (other geometries: none).
 * @param {GeoJSON.Geometry | null | undefined} g
 * @returns {number[][][]}
 */
function rings(g) {
  if (!g) return [];
  if (g.type === 'Polygon') return g.coordinates;
  if (g.type === 'MultiPolygon') return g.coordinates.flat();
  return [];
}

/**
 * A representative point of a geometry: the point itself, else the centre of its box.
 * @param {GeoJSON.Geometry | null | undefined} g
 * @returns {[number, number] | null}
 */
export function anchor(g) {
  if (!g) return null;
  if (g.type === 'Point') return [g.coordinates[0], g.coordinates[1]];
  const pts = rings(g).flat();
  if (!pts.length) return null;
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const p of pts) { w = Math.min(w, p[0]); e = Math.max(e, p[0]); s = Math.min(s, p[1]); n = Math.max(n, p[1]); }
  return [(w + e) / 2, (s + n) / 2];
}

/**
 * Distance in metres from point `p` (lon/lat) to the area `g` (0 inside).
 * @param {number[]} p
 * @param {GeoJSON.Geometry} g
 */
export function distanceToArea(p, g) {
  const rs = rings(g);
  if (!rs.length) return Infinity;
  const lat0 = p[1];
  const q = metres(p, lat0);
  let inside = false;
  let best = Infinity;
  for (const ring of rs) {
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const a = metres(ring[i], lat0);
      const b = metres(ring[j], lat0);
      if ((a[1] > q[1]) !== (b[1] > q[1]) && q[0] < ((b[0] - a[0]) * (q[1] - a[1])) / (b[1] - a[1]) + a[0]) inside = !inside;
      const dx = b[0] - a[0];
      const dy = b[1] - a[1];
      const len = dx * dx + dy * dy;
      const t = len ? Math.max(0, Math.min(1, ((q[0] - a[0]) * dx + (q[1] - a[1]) * dy) / len)) : 0;
      best = Math.min(best, Math.hypot(q[0] - (a[0] + t * dx), q[1] - (a[1] + t * dy)));
    }
  }
  return inside ? 0 : best;
}

/**
 * The features of `fc` ordered by distance to the area, nearest first, with that distance.
 * @param {GeoJSON.FeatureCollection | null | undefined} fc
 * @param {GeoJSON.Geometry | null | undefined} area
 * @returns {{ feature: GeoJSON.Feature, m: number }[]}
 */
export function byDistance(fc, area) {
  if (!fc || !area) return [];
  /** @type {{ feature: GeoJSON.Feature, m: number }[]} */
  const out = [];
  for (const f of fc.features) {
    const p = anchor(f.geometry);
    if (p) out.push({ feature: f, m: distanceToArea(p, area) });
  }
  return out.sort((a, b) => a.m - b.m);
}

/**
 * The candidate sites whose centre lies in the box `bbox`, one per centre (the analysis can
 * publish the same site for several clusters).
 * @param {GeoJSON.FeatureCollection | null | undefined} fc
 * @param {BBox | null | undefined} bbox
 * @returns {GeoJSON.FeatureCollection}
 */
export function sitesIn(fc, bbox) {
  /** @type {GeoJSON.FeatureCollection} */
  const out = { type: 'FeatureCollection', features: [] };
  if (!fc || !bbox) return out;
  const seen = new Set();
  for (const f of fc.features) {
    const p = anchor(f.geometry);
    if (!p || p[0] < bbox[0] || p[0] > bbox[2] || p[1] < bbox[1] || p[1] > bbox[3]) continue;
    const props = f.properties || {};
    const key = `${Math.round(p[0] * 1e5)},${Math.round(p[1] * 1e5)},${props.loopafstand_m ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.features.push(f);
  }
  return out;
}
