//! The ClusterAIScaleTemplate controller (seed 000): `plan` decides, `controller` applies
//! it from the cache, `write` does the writes, `memo` keeps what a pass can reuse.

pub mod controller;
pub mod memo;
pub mod plan;
pub mod write;
