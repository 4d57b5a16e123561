//! The built-in store's multi-leader topology as a system under test: its
//! settings (`--topology multi-leader --datacenters --dc-topology
//! --dc-lag-ms --conflict`) and the node flags they become. Its client is
//! the leaderless one ([`super::leaderless::LeaderlessClient`]): a client
//! sticks to the node it reaches, which answers reads from its own copy and
//! hands writes to the leader that accepts them.

use crate::store::conflict::ConflictMode;
use crate::store::multileader::DcTopology;
use crate::util::Invalid;

#[derive(Clone, Debug, PartialEq)]
pub struct MultiLeaderModes {
    pub datacenters: usize,
    pub dc_topology: DcTopology,
    pub conflict: ConflictMode,
    /// Base replication lag between datacenters (ms; see `store::multileader::dc::lag_ns`).
    pub dc_lag_ms: u64,
}

impl Default for MultiLeaderModes {
    fn default() -> Self {
        MultiLeaderModes {
            datacenters: 2,
            dc_topology: DcTopology::AllToAll,
            conflict: ConflictMode::Siblings,
            dc_lag_ms: 0,
        }
    }
}

impl MultiLeaderModes {
    /// The `faultline node` flags of these settings.
    pub fn argv(&self) -> Vec<String> {
        [
            "--topology".to_string(),
            "multi-leader".into(),
            "--datacenters".into(),
            self.datacenters.to_string(),
            "--dc-topology".into(),
            value_name(&self.dc_topology),
            "--conflict".into(),
            value_name(&self.conflict),
            "--dc-lag-ms".into(),
            self.dc_lag_ms.to_string(),
        ]
        .into()
    }

    /// At least one datacenter and no more than nodes, named by flag and key.
    pub fn validate(&self, nodes: usize) -> Result<(), Invalid> {
        let d = self.datacenters;
        if d == 0 || d > nodes {
            return Err(Invalid::new(
                "--datacenters",
                "target.datacenters",
                format!("must be between 1 and the number of nodes ({nodes}); got {d}"),
            ));
        }
        Ok(())
    }
}

/// The datacenters of `nodes` split into `d` (each a group of node ids), as
/// the nodes themselves split them: `faultline node` takes the cluster
/// sorted by id (`--cluster`), then [`crate::store::multileader::Layout`]
/// cuts it into contiguous groups. `None` below two datacenters.
pub fn datacenters(nodes: &[String], d: usize) -> Option<Vec<Vec<String>>> {
    let mut sorted = nodes.to_vec();
    sorted.sort();
    let layout = crate::store::multileader::Layout::new(&sorted, d);
    (layout.count() >= 2).then(|| (0..layout.count()).map(|i| layout.members(i).to_vec()).collect())
}

/// The name a clap value enum is written with on the command line.
fn value_name<T: clap::ValueEnum>(v: &T) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, serde::Serialize, PartialEq)]
    struct Plan {
        target: crate::system::SystemConfig,
    }

    fn err(text: &str) -> String {
        let p: Plan = toml::from_str(text).unwrap();
        p.target.validate().unwrap_err().to_string()
    }

    #[test]
    fn datacenters_are_the_nodes_own_split_and_need_two() {
        let names: Vec<String> = (1..=11).map(|i| format!("n{i}")).collect();
        let dcs = datacenters(&names, 3).unwrap();
        assert_eq!(dcs.len(), 3);
        // The nodes sort their --cluster by id: n10 and n11 come before n2.
        assert_eq!(dcs[0], ["n1", "n10", "n11"]);
        assert_eq!(dcs.concat().len(), 11);
        assert_eq!(datacenters(&names[..3], 1), None);
        assert_eq!(datacenters(&names[..3], 3).unwrap()[2], ["n3"]);
    }

    #[test]
    fn settings_round_trip_and_bad_ones_are_refused_by_flag() {
        let text = "[target]\nnodes = 6\ntopology = \"multi-leader\"\ndatacenters = 3\n\
                    dc_topology = \"circular\"\nconflict = \"avoid\"\n";
        let p: Plan = toml::from_str(text).unwrap();
        p.target.validate().unwrap();
        let m = &p.target.builtin.multileader;
        assert_eq!(
            (m.datacenters, m.dc_topology, m.conflict),
            (3, DcTopology::Circular, ConflictMode::Avoid)
        );
        let back: Plan = toml::from_str(&toml::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        assert!(m
            .argv()
            .join(" ")
            .contains("--dc-topology circular --conflict avoid"));
        let e = err("[target]\nnodes = 2\ntopology = \"multi-leader\"\ndatacenters = 3\n");
        assert!(e.contains("--datacenters"), "{e}");
        let e = err("[target]\nnodes = 2\ntopology = \"multi-leader\"\ndatacenters = 0\n");
        assert!(e.contains("--datacenters"), "{e}");
        let e = err("[target]\nnodes = 3\ntopology = \"leaderless\"\nconflict = \"avoid\"\n");
        assert!(e.contains("--conflict"), "{e}");
        let e = err("[target]\nnodes = 3\ndatacenters = 2\n");
        assert!(e.contains("--datacenters") && e.contains("multi-leader"), "{e}");
        let e = err("[target]\nnodes = 3\ntopology = \"multi-leader\"\nw = 2\n");
        assert!(e.contains("--w") && e.contains("leaderless"), "{e}");
        let p: Plan = toml::from_str("[target]\nnodes = 3\ndc_topology = \"mesh\"\n").unwrap_or_else(|e| {
            assert!(e.to_string().contains("mesh"), "{e}");
            Plan {
                target: Default::default(),
            }
        });
        assert_eq!(p.target, crate::system::SystemConfig::default());
    }
}
