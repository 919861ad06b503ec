//! prescale-operator
#![forbid(unsafe_code)]
