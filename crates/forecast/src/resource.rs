//! What a series measures, and therefore how much a shortfall costs. Memory short of usage
//! risks an OOM kill or an eviction; CPU (or a request rate) short of usage is throttled a
//! little. The risk table of the modes (`mode.rs`) and the hysteresis of the decision
//! (`decide.rs`) are both per resource.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// CPU, or any throttled quantity (request rate, utilisation).
    Cpu,
    /// Memory: a shortfall can kill the workload.
    Memory,
}

impl Resource {
    pub const ALL: [Resource; 2] = [Resource::Cpu, Resource::Memory];

    /// The resource a series name says it measures: `memory` (or `mem_`) anywhere in the
    /// name means memory; everything else (cpu, requests, utilisation) is throttled like CPU.
    pub fn from_name(name: &str) -> Resource {
        let name = name.to_ascii_lowercase();
        if name.contains("memory") || name.contains("mem_") || name.contains("_mem") {
            Resource::Memory
        } else {
            Resource::Cpu
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Memory => "memory",
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown resource {0:?}: use cpu or memory")]
pub struct ResourceError(pub String);

impl FromStr for Resource {
    type Err = ResourceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cpu" => Ok(Resource::Cpu),
            "memory" => Ok(Resource::Memory),
            other => Err(ResourceError(other.into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_of_a_series_says_its_resource() {
        assert_eq!(
            Resource::from_name("bitbrains_vm303_memory_bytes.csv"),
            Resource::Memory
        );
        assert_eq!(
            Resource::from_name("google2019_cluster_avg_memory.csv"),
            Resource::Memory
        );
        assert_eq!(Resource::from_name("vm303_cpu_cores.csv"), Resource::Cpu);
        assert_eq!(Resource::from_name("elb_requests.csv"), Resource::Cpu);
        assert_eq!("memory".parse::<Resource>(), Ok(Resource::Memory));
        assert!("disk".parse::<Resource>().is_err());
    }
}
