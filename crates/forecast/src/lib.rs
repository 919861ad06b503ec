//! prescale-forecast: forecasting the peak of the coming window, turning it into a
//! recommendation, and measuring policies by causal backtest. Knows nothing of Kubernetes.
#![forbid(unsafe_code)]

pub mod backtest;
pub mod baselines;
pub mod forecaster;
pub mod mode;
pub mod models;
pub mod mstl;
pub mod quantile;
pub mod recommend;
pub mod seasons;
pub mod series;
