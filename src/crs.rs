//! Coordinate reference systems: RD New (EPSG:28992) inside, others at the edges, through PROJ.
