//! prescale-store
#![forbid(unsafe_code)]
