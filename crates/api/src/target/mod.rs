//! The AIScaleTarget resource.

pub mod horizontal;
pub mod model;
pub mod scaling;
pub mod spec;
pub mod status;
pub mod vertical;
