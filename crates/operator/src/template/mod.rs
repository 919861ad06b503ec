//! The ClusterAIScaleTemplate controller (seed 000): `plan` decides, `controller` applies
//! it from the cache, `write` does the writes.

pub mod controller;
pub mod plan;
pub mod write;
