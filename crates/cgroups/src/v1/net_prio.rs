//! v1 net_prio: per-interface priorities, one `ifname prio` write each.

use std::path::Path;

use crate::controller::Controller;
use crate::error::Result;
use crate::fs::write_field;
use crate::resources::Resources;

pub struct NetPrio;

impl Controller for NetPrio {
    const NAME: &'static str = "net_prio";
    const FIELD: &'static str = "network.priorities";

    fn needed(res: &Resources) -> bool {
        res.network
            .as_ref()
            .is_some_and(|n| !n.priorities.is_empty())
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        let Some(n) = &res.network else { return Ok(()) };
        for p in &n.priorities {
            let field = format!("network.priorities[{}]", p.name);
            write_field(
                &field,
                dir,
                "net_prio.ifpriomap",
                &format!("{} {}", p.name, p.priority),
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{InterfacePriority, Network};

    #[test]
    fn ifpriomap() {
        let t = nsbox_testutil::TempDir::new("cg-v1-netprio");
        std::fs::write(t.join("net_prio.ifpriomap"), "").unwrap();
        let r = Resources {
            network: Some(Network {
                class_id: None,
                priorities: vec![InterfacePriority {
                    name: "eth0".into(),
                    priority: 5,
                }],
            }),
            ..Default::default()
        };
        assert!(NetPrio::needed(&r));
        NetPrio::apply(&r, t.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(t.join("net_prio.ifpriomap")).unwrap(),
            "eth0 5"
        );
    }
}
