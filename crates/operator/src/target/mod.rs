//! The AIScaleTarget controller: `suggest` decides, `controller` reads and writes.

pub mod controller;
pub mod schedule;
pub mod suggest;
