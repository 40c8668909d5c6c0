//! The top of the single-node crate (`../README.md`): what is made of the
//! API: a graph's picture (`Delayed::to_dot`, `Delayed::visualize`) and the
//! diagnostics of a compute (`compute_with`: a profile and what is made of
//! it). Only the multi-node layer sits above.

pub(crate) mod diagnostics;
pub(crate) mod dot;
pub(crate) mod visualize;
