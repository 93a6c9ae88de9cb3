"""QGIS 3.22 as a planner's desktop uses it, headless (QT_QPA_PLATFORM=offscreen).

Usage: python3 load_layers.py BASE_URL TOKEN RESTRICTED PUBLIC
(QGIS_AUTH_DB_DIR_PATH should name an empty folder: the script stores a Basic configuration.)

Loads, through QGIS's own providers:
  - RESTRICTED (an OGC API Features collection that needs a planner) with the token as the
    password of HTTP Basic, once as user name/password of the data source and once through a
    Basic configuration of QGIS's authentication manager;
  - the same collection without credentials (must not be valid or must hold no features);
  - PUBLIC without credentials;
  - PUBLIC's vector tiles as an XYZ vector-tile layer, and one tile read from it.
Prints one JSON object with what QGIS saw; the Rust test (tests/qgis.rs) judges it.
"""

import json
import sys

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsAuthMethodConfig,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDataSourceUri,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsVectorLayer,
    QgsVectorTileBasicRenderer,
    QgsVectorTileLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def basic_auth_config(token):
    """A Basic configuration in QGIS's authentication database (what a planner makes in
    Settings > Authentication), with the token as password; returns its id."""
    manager = QgsApplication.authManager()
    manager.setMasterPassword("buurtcirkel-test", True)
    config = QgsAuthMethodConfig("Basic")
    config.setName("Buurtcirkel planner")
    config.setConfig("username", "planner")
    config.setConfig("password", token)
    ok, config = manager.storeAuthenticationConfig(config)
    if not ok:
        raise SystemExit("QGIS did not store the Basic authentication configuration")
    return config.id()


def oapif(base, collection, user=None, password=None, authcfg=None):
    uri = QgsDataSourceUri()
    uri.setParam("url", base + "/ogc/v1")
    uri.setParam("typename", collection)
    uri.setParam("restrictToRequestBBOX", "0")
    if password is not None:
        uri.setUsername(user)
        uri.setPassword(password)
    if authcfg is not None:
        uri.setAuthConfigId(authcfg)
    layer = QgsVectorLayer(uri.uri(False), collection, "OAPIF")
    out = {"valid": layer.isValid()}
    if layer.isValid():
        out["extent"] = layer.extent()
    if not layer.isValid():
        out["error"] = layer.dataProvider().error().message() if layer.dataProvider() else ""
        return out
    fields = layer.fields()
    out["fields"] = {f.name(): f.typeName() for f in fields}
    features = list(layer.getFeatures())
    out["count"] = len(features)
    out["ids"] = sorted(str(f["id"]) if "id" in fields.names() else str(f.id()) for f in features)
    out["first"] = (
        {f.name(): _plain(features[0][f.name()]) for f in fields} if features else {}
    )
    return out


def _plain(v):
    """QVariant NULLs and Qt types as JSON values."""
    if v is None or (hasattr(v, "isNull") and v.isNull()):
        return None
    if isinstance(v, (int, float, str, bool)):
        return v
    return str(v)


def vector_tiles(base, collection, extent_wgs84):
    """An XYZ vector-tile layer on the collection's WebMercatorQuad tiles, rendered over
    `extent_wgs84` (so QGIS fetches and decodes tiles); counts the pixels it drew."""
    # OGC's order is tileMatrix/tileRow/tileCol: the row (y) comes before the column (x).
    url = f"{base}/ogc/v1/collections/{collection}/tiles/WebMercatorQuad/{{z}}/{{y}}/{{x}}"
    uri = QgsDataSourceUri()
    uri.setParam("type", "xyz")
    uri.setParam("url", url)
    uri.setParam("zmin", "0")
    uri.setParam("zmax", "16")
    layer = QgsVectorTileLayer(bytes(uri.encodedUri()).decode(), collection)
    out = {"valid": layer.isValid(), "source_type": layer.sourceType()}
    if not layer.isValid():
        return out
    red = QColor(255, 0, 0)
    renderer = QgsVectorTileBasicRenderer()
    renderer.setStyles(QgsVectorTileBasicRenderer.simpleStyle(red, red, 1.0, red, 1.0, red, red, 2.0))
    layer.setRenderer(renderer)
    mercator = QgsCoordinateReferenceSystem("EPSG:3857")
    to_merc = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem("EPSG:4326"), mercator, QgsProject.instance()
    )
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(mercator)
    settings.setExtent(to_merc.transformBoundingBox(extent_wgs84))
    settings.setOutputSize(QSize(512, 512))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    drawn = 0
    for y in range(0, image.height(), 4):
        for x in range(0, image.width(), 4):
            c = QColor(image.pixel(x, y))
            if c.red() > 200 and c.green() < 80 and c.blue() < 80:
                drawn += 1
    out["drawn_pixels"] = drawn
    out["sampled_pixels"] = (image.width() // 4) * (image.height() // 4)
    out["render_errors"] = [e.message for e in job.errors()]
    return out


def main():
    base, token, restricted, public = sys.argv[1:5]
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    result = {
        "version": Qgis.QGIS_VERSION,
        "restricted_with_token": oapif(base, restricted, "qgis", token),
        "restricted_with_authcfg": oapif(
            base, restricted, authcfg=basic_auth_config(token)
        ),
        "restricted_without_token": oapif(base, restricted),
        "public": oapif(base, public),
    }
    extent = result["public"].pop("extent", None)
    result["restricted_with_token"].pop("extent", None)
    result["restricted_with_authcfg"].pop("extent", None)
    result["restricted_without_token"].pop("extent", None)
    result["tiles"] = vector_tiles(base, public, extent) if extent else {"valid": False}
    print(json.dumps(result))
    app.exitQgis()


if __name__ == "__main__":
    main()
