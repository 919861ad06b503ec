//! The AIScaleTarget controller: `suggest` decides, `controller` reads and writes.

pub mod controller;
mod inputs;
pub mod schedule;
pub mod suggest;
