//! v1 net_cls: the class id tagged on the group's packets.

use std::path::Path;

use crate::controller::Controller;
use crate::error::Result;
use crate::fs::write_field;
use crate::resources::Resources;

pub struct NetCls;

impl Controller for NetCls {
    const NAME: &'static str = "net_cls";
    const FIELD: &'static str = "network.classID";

    fn needed(res: &Resources) -> bool {
        res.network.as_ref().is_some_and(|n| n.class_id.is_some())
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        match res.network.as_ref().and_then(|n| n.class_id) {
            Some(id) => write_field("network.classID", dir, "net_cls.classid", &id.to_string()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classid() {
        let t = nsbox_testutil::TempDir::new("cg-v1-netcls");
        std::fs::write(t.join("net_cls.classid"), "0").unwrap();
        let r = Resources {
            network: Some(crate::resources::Network {
                class_id: Some(0x100001),
                priorities: vec![],
            }),
            ..Default::default()
        };
        NetCls::apply(&r, t.path()).unwrap();
        assert_eq!(
            std::fs::read_to_string(t.join("net_cls.classid")).unwrap(),
            "1048577"
        );
    }
}
