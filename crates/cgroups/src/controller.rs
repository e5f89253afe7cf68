//! The one small trait every controller file implements, v1 and v2 alike,
//! and the unit conversions both sides share.

use std::path::Path;

use crate::error::{Error, Result};
use crate::resources::Resources;

/// One cgroup controller's share of [`Resources`].
pub trait Controller {
    /// The controller's name as the kernel spells it (`memory`, `cpu`, `io`,
    /// `net_cls`...): the v1 hierarchy holding it, or the entry in v2's
    /// `cgroup.controllers`.
    const NAME: &'static str;

    /// The OCI field this controller serves, for errors (`memory`,
    /// `blockIO`, `hugepageLimits`).
    const FIELD: &'static str;

    /// Whether `res` asks anything of this controller.
    fn needed(res: &Resources) -> bool;

    /// Writes `res`'s values into the cgroup directory `dir`.
    fn apply(res: &Resources, dir: &Path) -> Result<()>;
}

/// cpu.shares (2..=262144) to cpu.weight (1..=10000), the conversion runc,
/// crun and the kernel documentation agree on; 0 means unset.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    let s = shares.clamp(2, 262_144);
    1 + ((s - 2) * 9999) / 262_142
}

/// blkio.weight (10..=1000) to io.weight (1..=10000).
pub fn blkio_to_io_weight(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    let w = u64::from(w.clamp(10, 1000));
    1 + (w - 10) * 9999 / 990
}

/// A memory value as v2 files want it: negative is `max`.
pub fn v2_bytes(v: i64) -> String {
    if v < 0 {
        "max".to_owned()
    } else {
        v.to_string()
    }
}

/// OCI's `memory.swap` is memory plus swap (v1 memsw); v2's memory.swap.max
/// is swap alone. Returns the memory.swap.max value, or `None` when nothing
/// is to be written.
pub fn v2_swap(limit: Option<i64>, swap: Option<i64>) -> Result<Option<String>> {
    let Some(swap) = swap else { return Ok(None) };
    if swap == 0 {
        return Ok(None);
    }
    if swap < 0 {
        return Ok(Some("max".to_owned()));
    }
    let invalid = |reason| Error::Invalid {
        field: "memory.swap".to_owned(),
        value: swap.to_string(),
        reason,
    };
    match limit {
        None | Some(0) | Some(-1) => Err(invalid("a swap limit needs a memory limit")),
        Some(l) if l < 0 => Err(invalid("a swap limit needs a memory limit")),
        Some(l) if swap < l => Err(invalid("memory+swap is below the memory limit")),
        Some(l) => Ok(Some((swap - l).to_string())),
    }
}

/// rdma.max lines, one per device: `mlx4_0 hca_handle=2 hca_object=2000`
/// (same format in v1 and v2). A device with no limit set writes `max`.
pub fn rdma_lines(res: &Resources) -> Vec<(String, String)> {
    res.rdma
        .iter()
        .map(|(dev, r)| {
            let v = |n: Option<u32>| n.map_or("max".to_owned(), |n| n.to_string());
            (
                format!("rdma.{dev}"),
                format!(
                    "{dev} hca_handle={} hca_object={}",
                    v(r.hca_handles),
                    v(r.hca_objects)
                ),
            )
        })
        .collect()
}

/// Rejects hugepage size names that would escape the file name pattern.
pub fn check_page_size(size: &str) -> Result<()> {
    let ok = !size.is_empty() && size.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid {
            field: "hugepageLimits.pageSize".to_owned(),
            value: format!("{size:?}"),
            reason: "not a page size such as 2MB",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_conversion() {
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(1024), 39);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert_eq!(shares_to_weight(0), 0);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(500), 4950);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
    }

    #[test]
    fn swap_conversion() {
        assert_eq!(
            v2_swap(Some(100), Some(300)).unwrap().as_deref(),
            Some("200")
        );
        assert_eq!(v2_swap(Some(100), Some(100)).unwrap().as_deref(), Some("0"));
        assert_eq!(v2_swap(None, Some(-1)).unwrap().as_deref(), Some("max"));
        assert_eq!(v2_swap(Some(100), None).unwrap(), None);
        let e = v2_swap(Some(300), Some(100)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "memory.swap: invalid value 100: memory+swap is below the memory limit"
        );
        assert!(v2_swap(None, Some(100)).is_err());
    }
}
