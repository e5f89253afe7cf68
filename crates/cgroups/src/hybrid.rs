//! The hybrid manager's routing: each controller goes to the v1 hierarchy
//! that holds it, else to its twin in the unified cgroup if enabled there,
//! else it is an error naming the field. Raw `unified` keys and, when no v1
//! devices hierarchy exists, the eBPF device filter go to the unified cgroup.

use crate::controller::Controller;
use crate::error::Result;
use crate::resources::Resources;
use crate::{v1, v2};

/// Makes both sides; the unified cgroup gets enabled only the controllers
/// `res` needs that no v1 hierarchy holds. A failure removes both.
pub fn create(v1: &mut v1::Manager, unified: &mut v2::Manager, res: &Resources) -> Result<()> {
    v1.create()?;
    if let Err(e) = unified.create(&unified_needs(v1, res)) {
        let _ = v1.remove();
        return Err(e);
    }
    Ok(())
}

pub fn apply(v1: &v1::Manager, unified: &mut v2::Manager, res: &Resources) -> Result<()> {
    use crate::{v1 as a, v2 as b};
    unified.with_controllers(&unified_needs(v1, res), |unified, avail| {
        one::<a::cpuset::Cpuset, b::cpuset::Cpuset>(v1, unified, res, avail)?;
        one::<a::memory::Memory, b::memory::Memory>(v1, unified, res, avail)?;
        one::<a::cpu::Cpu, b::cpu::Cpu>(v1, unified, res, avail)?;
        one::<a::pids::Pids, b::pids::Pids>(v1, unified, res, avail)?;
        one::<a::blkio::Blkio, b::io::Io>(v1, unified, res, avail)?;
        one::<a::hugetlb::Hugetlb, b::hugetlb::Hugetlb>(v1, unified, res, avail)?;
        one::<a::rdma::Rdma, b::rdma::Rdma>(v1, unified, res, avail)?;
        v1.apply_v1_only(res)?;
        match v1.dir(a::devices::Devices::NAME) {
            Some(_) => v1.apply_one::<a::devices::Devices>(res)?,
            None => b::devices::apply(res, unified.path())?,
        }
        b::unified::apply(res, unified.path())
    })
}

/// The v2 controllers `res` needs that no v1 hierarchy holds.
fn unified_needs(v1: &v1::Manager, res: &Resources) -> Vec<String> {
    v2::needed_controllers(res)
        .into_iter()
        .filter(|c| v1.dir(v1_name(c)).is_none())
        .collect()
}

/// v2's io is v1's blkio; every other name is the same.
fn v1_name(v2: &str) -> &str {
    if v2 == "io" {
        "blkio"
    } else {
        v2
    }
}

/// Controller `A` in its v1 hierarchy if mounted, else its v2 twin `B`.
fn one<A: Controller, B: Controller>(
    v1: &v1::Manager,
    unified: &v2::Manager,
    res: &Resources,
    avail: &[String],
) -> Result<()> {
    if !A::needed(res) {
        return Ok(());
    }
    match v1.dir(A::NAME) {
        Some(d) => A::apply(res, d),
        None => unified.apply_one::<B>(res, avail),
    }
}
