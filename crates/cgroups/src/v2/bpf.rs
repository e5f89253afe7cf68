//! The few `bpf(2)` commands the v2 device filter needs: load a
//! BPF_PROG_TYPE_CGROUP_DEVICE program, list, attach and detach programs on
//! a cgroup. rustix has no bpf(2), so these are raw syscalls on `repr(C)`
//! copies of the kernel's `union bpf_attr` members (linux/bpf.h).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst register in the low nibble, src in the high one.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
pub const BPF_CGROUP_DEVICE: u32 = 6;
pub const BPF_F_ALLOW_MULTI: u32 = 1 << 1;

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// bpf(cmd, attr, sizeof attr).
///
/// # Safety
/// `attr` must be the `bpf_attr` member `cmd` expects, and every pointer
/// inside it valid for what the kernel does with it during the call.
unsafe fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<libc::c_long> {
    // SAFETY: the caller vouches for `attr`'s shape and pointers; `attr`
    // is a live exclusive reference of exactly `size_of::<T>()` bytes.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>(),
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// The fd a successful bpf call returned.
fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: the kernel just returned this as a new file descriptor that
    // nothing else owns.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

/// Loads a cgroup device program; on a verifier refusal returns the error
/// and the verifier's log.
pub fn load_device_prog(insns: &[Insn]) -> Result<OwnedFd, (io::Error, String)> {
    let license = c"Apache";
    let mut log = vec![0u8; 64 * 1024];
    let mut name = [0u8; 16];
    name[..12].copy_from_slice(b"nsbox_device");
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: 1,
        log_size: log.len() as u32,
        log_buf: log.as_mut_ptr() as u64,
        prog_name: name,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    // SAFETY: a PROG_LOAD attr; `insns`, `license` and `log` outlive the
    // call and the sizes given match them.
    match unsafe { bpf(BPF_PROG_LOAD, &mut attr) } {
        Ok(fd) => Ok(owned(fd)),
        Err(e) => {
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            Err((e, String::from_utf8_lossy(&log[..end]).trim().to_owned()))
        }
    }
}

/// Ids of the programs of `attach_type` attached directly to the cgroup.
pub fn query(cgroup: BorrowedFd<'_>, attach_type: u32) -> io::Result<Vec<u32>> {
    let mut ids = vec![0u32; 64];
    let mut attr = QueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        ..Default::default()
    };
    // SAFETY: a PROG_QUERY attr; `ids` holds `prog_cnt` u32s and outlives
    // the call.
    unsafe { bpf(BPF_PROG_QUERY, &mut attr) }?;
    ids.truncate(attr.prog_cnt as usize);
    Ok(ids)
}

/// An fd for program `id`.
pub fn prog_fd(id: u32) -> io::Result<OwnedFd> {
    let mut attr = GetFdAttr {
        prog_id: id,
        ..Default::default()
    };
    // SAFETY: a GET_FD_BY_ID attr, no pointers.
    unsafe { bpf(BPF_PROG_GET_FD_BY_ID, &mut attr) }.map(owned)
}

pub fn attach(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
    flags: u32,
) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type,
        attach_flags: flags,
        ..Default::default()
    };
    // SAFETY: a PROG_ATTACH attr; both fds are open for the call.
    unsafe { bpf(BPF_PROG_ATTACH, &mut attr) }.map(drop)
}

pub fn detach(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>, attach_type: u32) -> io::Result<()> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type,
        ..Default::default()
    };
    // SAFETY: a PROG_DETACH attr; both fds are open for the call.
    unsafe { bpf(BPF_PROG_DETACH, &mut attr) }.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attr_sizes_match_the_kernel() {
        assert_eq!(std::mem::size_of::<Insn>(), 8);
        assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 72);
        assert_eq!(std::mem::size_of::<AttachAttr>(), 20);
        assert_eq!(std::mem::size_of::<QueryAttr>(), 32);
    }
}
