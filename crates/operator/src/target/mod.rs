//! The AIScaleTarget controller: `suggest` decides, `controller` reads and writes.

pub mod controller;
pub mod suggest;
