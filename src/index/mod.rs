//! Spatial indexes: bulk-loaded R-trees over client points and area polygons, in RD New metres.
//! Depends only on `model`.
