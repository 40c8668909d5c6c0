//! `delayed`: Dask's `delayed` for Rust (the graph crate; see issue 3).
#![deny(missing_docs)]
