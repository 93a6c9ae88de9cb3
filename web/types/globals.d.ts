// Globals the page's modules use: MapLibre from its classic script tag (its own types), and what
// index.html and main.js put on `window`. Only for `tsc --checkJs`; never served to a browser
// as code.
import type * as MapLibre from 'maplibre-gl';

declare global {
  const maplibregl: typeof MapLibre;
  interface Window {
    atlas: import('../js/main.js').Atlas;
    atlasConfigRequest: Promise<any> | null;
  }
}
