//! prescale-forecast
#![forbid(unsafe_code)]
