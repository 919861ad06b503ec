//! prescale-api
#![forbid(unsafe_code)]
