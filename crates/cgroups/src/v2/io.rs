//! v2 io: weights (io.bfq.weight when BFQ is in use, else io.weight on the
//! 1..10000 scale converted from blkio's 10..1000) and io.max throttling.

use std::path::Path;

use crate::controller::{blkio_to_io_weight, Controller};
use crate::error::{Error, Result};
use crate::fs::write_field;
use crate::resources::{dev_number, Resources, ThrottleDevice};

pub struct Io;

impl Controller for Io {
    const NAME: &'static str = "io";
    const FIELD: &'static str = "blockIO";

    fn needed(res: &Resources) -> bool {
        crate::v1::blkio::Blkio::needed(res)
    }

    fn apply(res: &Resources, dir: &Path) -> Result<()> {
        let Some(b) = &res.block_io else {
            return Ok(());
        };
        if b.leaf_weight.is_some() || b.weight_device.iter().any(|d| d.leaf_weight.is_some()) {
            return Err(Error::Unsupported {
                field: "blockIO.leafWeight".to_owned(),
                version: "v2",
            });
        }
        let bfq = dir.join("io.bfq.weight").exists();
        if let Some(w) = b.weight {
            if bfq {
                write_field("blockIO.weight", dir, "io.bfq.weight", &w.to_string())?;
            } else {
                let line = format!("default {}", blkio_to_io_weight(w));
                write_field("blockIO.weight", dir, "io.weight", &line)?;
            }
        }
        for d in &b.weight_device {
            if let Some(w) = d.weight {
                let dev = dev_number(Some(d.major), Some(d.minor));
                let (file, line) = if bfq {
                    ("io.bfq.weight", format!("{dev} {w}"))
                } else {
                    ("io.weight", format!("{dev} {}", blkio_to_io_weight(w)))
                };
                write_field("blockIO.weightDevice", dir, file, &line)?;
            }
        }
        max(
            dir,
            "blockIO.throttleReadBpsDevice",
            "rbps",
            &b.throttle_read_bps_device,
        )?;
        max(
            dir,
            "blockIO.throttleWriteBpsDevice",
            "wbps",
            &b.throttle_write_bps_device,
        )?;
        max(
            dir,
            "blockIO.throttleReadIOPSDevice",
            "riops",
            &b.throttle_read_iops_device,
        )?;
        max(
            dir,
            "blockIO.throttleWriteIOPSDevice",
            "wiops",
            &b.throttle_write_iops_device,
        )
    }
}

fn max(dir: &Path, field: &str, key: &str, devs: &[ThrottleDevice]) -> Result<()> {
    for d in devs {
        let rate = if d.rate == 0 {
            "max".to_owned()
        } else {
            d.rate.to_string()
        };
        let line = format!("{} {key}={rate}", dev_number(Some(d.major), Some(d.minor)));
        write_field(field, dir, "io.max", &line)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{BlockIo, WeightDevice};
    use std::fs;

    #[test]
    fn weight_and_max() {
        let t = nsbox_testutil::TempDir::new("cg-v2-io");
        fs::write(t.join("io.weight"), "default 100\n").unwrap();
        fs::write(t.join("io.max"), "").unwrap();
        let r = Resources {
            block_io: Some(BlockIo {
                weight: Some(500),
                throttle_write_iops_device: vec![ThrottleDevice {
                    major: 8,
                    minor: 16,
                    rate: 100,
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        Io::apply(&r, t.path()).unwrap();
        assert_eq!(
            fs::read_to_string(t.join("io.weight")).unwrap(),
            "default 4950"
        );
        assert_eq!(
            fs::read_to_string(t.join("io.max")).unwrap(),
            "8:16 wiops=100"
        );
    }

    #[test]
    fn bfq_weight_device() {
        let t = nsbox_testutil::TempDir::new("cg-v2-io-bfq");
        fs::write(t.join("io.bfq.weight"), "default 100\n").unwrap();
        let r = Resources {
            block_io: Some(BlockIo {
                weight_device: vec![WeightDevice {
                    major: 8,
                    minor: 0,
                    weight: Some(200),
                    leaf_weight: None,
                }],
                ..Default::default()
            }),
            ..Default::default()
        };
        Io::apply(&r, t.path()).unwrap();
        assert_eq!(
            fs::read_to_string(t.join("io.bfq.weight")).unwrap(),
            "8:0 200"
        );
    }
}
