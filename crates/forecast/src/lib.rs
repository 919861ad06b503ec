//! prescale-forecast: forecasting the peak of the coming window, deciding the value to
//! apply (`decide`, shared by the operator and the backtest), and measuring policies by
//! causal backtest. Knows nothing of Kubernetes.
#![forbid(unsafe_code)]

pub mod backtest;
pub mod baselines;
pub mod decide;
pub mod forecaster;
pub mod mode;
pub mod models;
pub mod mstl;
pub mod quantile;
pub mod recommend;
pub mod replicas;
pub mod resource;
pub mod seasons;
pub mod series;
