//! v1 blkio: weight (CFQ's blkio.weight or, on kernels without CFQ, BFQ's
//! blkio.bfq.weight), per-device weights, and throttling.

use std::path::Path;

use crate::controller::Controller;
use crate::error::Result;
use crate::fs::write_field;
use crate::resources::{dev_number, Resources, ThrottleDevice};

pub struct Blkio;

impl Controller for Blkio {
    const NAME: &'static str = "blkio";
    const FIELD: &'static str = "blockIO";

    fn needed(res: &Resources) -> bool {
        res.block_io
            .as_ref()
            .is_some_and(|b| *b != Default::default())
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        let Some(b) = &res.block_io else {
            return Ok(());
        };
        // Without CFQ (gone since 5.0) only BFQ's files exist.
        let bfq = !dir.join("blkio.weight").exists() && dir.join("blkio.bfq.weight").exists();
        let (weight, weight_device) = if bfq {
            ("blkio.bfq.weight", "blkio.bfq.weight_device")
        } else {
            ("blkio.weight", "blkio.weight_device")
        };
        if let Some(w) = b.weight {
            write_field("blockIO.weight", dir, weight, &w.to_string())?;
        }
        if let Some(w) = b.leaf_weight {
            write_field(
                "blockIO.leafWeight",
                dir,
                "blkio.leaf_weight",
                &w.to_string(),
            )?;
        }
        for d in &b.weight_device {
            let dev = dev_number(Some(d.major), Some(d.minor));
            if let Some(w) = d.weight {
                write_field(
                    "blockIO.weightDevice",
                    dir,
                    weight_device,
                    &format!("{dev} {w}"),
                )?;
            }
            if let Some(w) = d.leaf_weight {
                let line = format!("{dev} {w}");
                write_field(
                    "blockIO.weightDevice.leafWeight",
                    dir,
                    "blkio.leaf_weight_device",
                    &line,
                )?;
            }
        }
        throttle(
            dir,
            "blockIO.throttleReadBpsDevice",
            "blkio.throttle.read_bps_device",
            &b.throttle_read_bps_device,
        )?;
        throttle(
            dir,
            "blockIO.throttleWriteBpsDevice",
            "blkio.throttle.write_bps_device",
            &b.throttle_write_bps_device,
        )?;
        throttle(
            dir,
            "blockIO.throttleReadIOPSDevice",
            "blkio.throttle.read_iops_device",
            &b.throttle_read_iops_device,
        )?;
        throttle(
            dir,
            "blockIO.throttleWriteIOPSDevice",
            "blkio.throttle.write_iops_device",
            &b.throttle_write_iops_device,
        )
    }
}

fn throttle(dir: &Path, field: &str, file: &str, devs: &[ThrottleDevice]) -> Result<()> {
    for d in devs {
        let line = format!("{} {}", dev_number(Some(d.major), Some(d.minor)), d.rate);
        write_field(field, dir, file, &line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{BlockIo, WeightDevice};
    use std::fs;

    #[test]
    fn bfq_fallback_and_throttle() {
        let t = nsbox_testutil::TempDir::new("cg-v1-blkio");
        for f in [
            "blkio.bfq.weight",
            "blkio.bfq.weight_device",
            "blkio.throttle.read_bps_device",
        ] {
            fs::write(t.join(f), "").unwrap();
        }
        let r = Resources {
            block_io: Some(BlockIo {
                weight: Some(300),
                weight_device: vec![WeightDevice {
                    major: 8,
                    minor: 0,
                    weight: Some(100),
                    leaf_weight: None,
                }],
                throttle_read_bps_device: vec![ThrottleDevice {
                    major: 8,
                    minor: 0,
                    rate: 1_048_576,
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        Blkio::apply(&r, t.path()).unwrap();
        let rd = |f: &str| fs::read_to_string(t.join(f)).unwrap();
        assert_eq!(rd("blkio.bfq.weight"), "300");
        assert_eq!(rd("blkio.bfq.weight_device"), "8:0 100");
        assert_eq!(rd("blkio.throttle.read_bps_device"), "8:0 1048576");
    }

    #[test]
    fn no_weight_file_is_an_error() {
        let t = nsbox_testutil::TempDir::new("cg-v1-blkio-none");
        let r = Resources {
            block_io: Some(BlockIo {
                weight: Some(300),
                ..Default::default()
            }),
            ..Default::default()
        };
        let e = Blkio::apply(&r, t.path()).unwrap_err();
        assert!(
            e.to_string().starts_with("blockIO.weight: write \"300\""),
            "{e}"
        );
    }
}
