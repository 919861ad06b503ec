//! prescale-sim
#![forbid(unsafe_code)]
