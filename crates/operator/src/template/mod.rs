//! The ClusterAIScaleTemplate controller (seed 000): `plan` decides, `controller` applies.

pub mod controller;
pub mod plan;
