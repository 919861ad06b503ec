//! The ClusterAIScaleTemplate controller (seed 000): `plan` decides, `controller` applies.

pub mod plan;
