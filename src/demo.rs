//! The built-in demo data set.
