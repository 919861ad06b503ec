//! Horizontal autonomous scaling: prescale feeds the workload's single HPA a replica
//! floor ahead of the forecast peak, without writing the HPA's spec. `metrics` says which
//! metrics the forecast scales on (the HPA's own, less excluded, plus additional); `floor`
//! decides the floor and the scale-up (pure, part of the target's plan). The actuator
//! (`actuate::scale`) patches the workload's `scale` subresource; the `*/scale` webhook
//! (`webhook::scale`) raises writes below the floor.

pub mod floor;
pub mod metrics;
pub mod need;
pub mod sampler;
