//! v2 device rules: cgroup v2 has no devices.allow; the kernel asks a
//! BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup instead. We
//! compile the rules into one program: the last matching rule decides (as
//! successive writes to v1's devices.allow/deny would), and a request no rule
//! matches is allowed, as under v1's root cgroup. OCI configs start with
//! "deny all", so in practice only listed devices pass.
//!
//! Applying replaces the program(s) this cgroup had: the new one is attached
//! first, then the old ones detached, so there is no moment without a filter.

use std::os::fd::AsFd;
use std::path::Path;

use rustix::fs::{Mode, OFlags};

use super::bpf::{self, Insn, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI};
use crate::error::{Error, Result};
use crate::resources::{DeviceRule, Resources};

const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const AND32_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const RSH32_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const MOV32_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JEQ_K: u8 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const MOV64_K: u8 = 0xb7; // BPF_ALU64 | BPF_MOV | BPF_K
const EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// struct bpf_cgroup_dev_ctx: access_type = (BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: dst | (src << 4),
        off,
        imm,
    }
}

/// Compiles `rules` into a device program. Registers after the prologue:
/// r2 device type, r3 access bits, r4 major, r5 minor.
pub fn program(rules: &[DeviceRule]) -> Result<Vec<Insn>> {
    let mut p = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(AND32_K, 2, 0, 0, 0xffff),
        insn(LDX_W, 3, 1, 0, 0),
        insn(RSH32_K, 3, 0, 0, 16),
        insn(LDX_W, 4, 1, 4, 0),
        insn(LDX_W, 5, 1, 8, 0),
    ];
    // Last rule first: the first match in the program is the last in the list.
    for (i, rule) in rules.iter().enumerate().rev() {
        let block = rule_block(i, rule)?;
        let catch_all = !block.iter().any(|x| is_jump(x.code));
        p.extend(block);
        if catch_all {
            // Anything after would be unreachable, which the verifier refuses.
            return Ok(p);
        }
    }
    p.push(insn(MOV64_K, 0, 0, 0, 1));
    p.push(insn(EXIT, 0, 0, 0, 0));
    Ok(p)
}

fn is_jump(code: u8) -> bool {
    code == JNE_K || code == JEQ_K
}

/// The checks of one rule, each jumping past the block on mismatch, then
/// the verdict.
fn rule_block(i: usize, rule: &DeviceRule) -> Result<Vec<Insn>> {
    let invalid = |value: String, reason| Error::Invalid {
        field: format!("devices[{i}]"),
        value,
        reason,
    };
    let kind = rule.kind.unwrap_or('a');
    let access = rule.access.as_deref().unwrap_or("rwm");
    let mut bits = 0;
    for c in access.chars() {
        bits |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => return Err(invalid(access.to_owned(), "access must be some of rwm")),
        };
    }
    if access.is_empty() {
        return Err(invalid(String::new(), "access must be some of rwm"));
    }
    let number = |n: Option<i64>| -> Result<Option<i32>> {
        match n {
            None => Ok(None),
            Some(n) if n < 0 => Ok(None),
            Some(n) => i32::try_from(n)
                .map(Some)
                .map_err(|_| invalid(n.to_string(), "device number out of range")),
        }
    };
    let mut checks = Vec::new();
    match kind {
        // `a` is every device with every access, as in v1.
        'a' => {}
        'b' | 'c' => {
            let t = if kind == 'b' { DEV_BLOCK } else { DEV_CHAR };
            checks.push(insn(JNE_K, 2, 0, 0, t));
            if bits != ACC_READ | ACC_WRITE | ACC_MKNOD {
                checks.push(insn(MOV32_X, 1, 3, 0, 0));
                if rule.allow {
                    // an allow rule must cover every requested bit (as v1)
                    checks.push(insn(AND32_K, 1, 0, 0, !bits & 7));
                    checks.push(insn(JNE_K, 1, 0, 0, 0));
                } else {
                    // a deny rule refuses a request asking any bit it names
                    checks.push(insn(AND32_K, 1, 0, 0, bits));
                    checks.push(insn(JEQ_K, 1, 0, 0, 0));
                }
            }
            if let Some(m) = number(rule.major)? {
                checks.push(insn(JNE_K, 4, 0, 0, m));
            }
            if let Some(m) = number(rule.minor)? {
                checks.push(insn(JNE_K, 5, 0, 0, m));
            }
        }
        _ => return Err(invalid(kind.to_string(), "type must be a, b or c")),
    }
    let len = checks.len() + 2;
    for (at, x) in checks.iter_mut().enumerate() {
        if is_jump(x.code) {
            x.off = (len - at - 1) as i16;
        }
    }
    checks.push(insn(MOV64_K, 0, 0, 0, i32::from(rule.allow)));
    checks.push(insn(EXIT, 0, 0, 0, 0));
    Ok(checks)
}

/// Loads the program for `res.devices` and makes it the cgroup's only
/// device filter.
pub fn apply(res: &Resources, dir: &Path) -> Result<()> {
    if res.devices.is_empty() {
        return Ok(());
    }
    let prog = program(&res.devices)?;
    let step = |op| {
        move |e: std::io::Error| Error::Bpf {
            op,
            path: dir.to_owned(),
            source: e,
        }
    };
    let cg = rustix::fs::open(
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::Open {
        path: dir.to_owned(),
        source: e.into(),
    })?;
    let old = bpf::query(cg.as_fd(), BPF_CGROUP_DEVICE).map_err(step("query device programs"))?;
    let fd = bpf::load_device_prog(&prog).map_err(|(source, log)| Error::BpfVerifier {
        path: dir.to_owned(),
        log,
        source,
    })?;
    bpf::attach(cg.as_fd(), fd.as_fd(), BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)
        .map_err(step("attach device program"))?;
    for id in old {
        let old_fd = bpf::prog_fd(id).map_err(step("open old device program"))?;
        bpf::detach(cg.as_fd(), old_fd.as_fd(), BPF_CGROUP_DEVICE)
            .map_err(step("detach old device program"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a device program the way the kernel would, for the few
    /// instructions `program` emits.
    fn run(p: &[Insn], kind: i32, access: i32, major: u32, minor: u32) -> u64 {
        let ctx = [((access << 16) | kind) as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0;
        loop {
            let x = p[pc];
            let (dst, src) = ((x.regs & 0xf) as usize, (x.regs >> 4) as usize);
            pc += 1;
            match x.code {
                LDX_W => {
                    assert_eq!(src, 1);
                    r[dst] = u64::from(ctx[x.off as usize / 4]);
                }
                AND32_K => r[dst] = u64::from(r[dst] as u32 & x.imm as u32),
                RSH32_K => r[dst] = u64::from((r[dst] as u32) >> x.imm),
                MOV32_X => r[dst] = u64::from(r[src] as u32),
                MOV64_K => r[dst] = x.imm as i64 as u64,
                JNE_K | JEQ_K => {
                    let eq = r[dst] == x.imm as i64 as u64;
                    if eq == (x.code == JEQ_K) {
                        pc += x.off as usize;
                    }
                }
                EXIT => return r[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    fn rule(
        allow: bool,
        kind: char,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            kind: Some(kind),
            major,
            minor,
            access: Some(access.into()),
        }
    }

    const R: i32 = ACC_READ;
    const W: i32 = ACC_WRITE;
    const M: i32 = ACC_MKNOD;

    #[test]
    fn oci_default_list() {
        // deny all, then the usual /dev/null, /dev/zero, pts
        let p = program(&[
            rule(false, 'a', None, None, "rwm"),
            rule(true, 'c', Some(1), Some(3), "rwm"),
            rule(true, 'c', Some(1), Some(5), "rw"),
            rule(true, 'c', Some(136), None, "rwm"),
        ])
        .unwrap();
        assert_eq!(run(&p, DEV_CHAR, R | W, 1, 3), 1);
        assert_eq!(run(&p, DEV_CHAR, M, 1, 3), 1);
        assert_eq!(run(&p, DEV_CHAR, R, 1, 5), 1);
        assert_eq!(run(&p, DEV_CHAR, M, 1, 5), 0, "mknod not granted");
        assert_eq!(run(&p, DEV_CHAR, R | W, 136, 7), 1);
        assert_eq!(run(&p, DEV_BLOCK, R, 1, 3), 0, "block 1:3 is not char 1:3");
        assert_eq!(run(&p, DEV_CHAR, R, 1, 8), 0);
        // the catch-all deny ends the program: no unreachable code
        assert_eq!(p.last().unwrap().code, EXIT);
        assert_eq!(p[p.len() - 2], insn(MOV64_K, 0, 0, 0, 0));
    }

    #[test]
    fn last_rule_wins_and_unmatched_is_allowed() {
        let p = program(&[
            rule(true, 'c', Some(1), Some(3), "rwm"),
            rule(false, 'c', Some(1), Some(3), "w"),
        ])
        .unwrap();
        assert_eq!(run(&p, DEV_CHAR, R, 1, 3), 1);
        assert_eq!(run(&p, DEV_CHAR, W, 1, 3), 0);
        assert_eq!(run(&p, DEV_CHAR, R | W, 1, 3), 0, "any denied bit denies");
        assert_eq!(run(&p, DEV_BLOCK, R, 8, 0), 1);
        // an allow must cover the whole request
        let p = program(&[
            rule(false, 'a', None, None, "rwm"),
            rule(true, 'c', Some(1), Some(3), "r"),
        ])
        .unwrap();
        assert_eq!(run(&p, DEV_CHAR, R, 1, 3), 1);
        assert_eq!(run(&p, DEV_CHAR, R | W, 1, 3), 0);
    }

    #[test]
    fn allow_all_after_deny() {
        let p = program(&[
            rule(false, 'c', Some(1), Some(3), "rwm"),
            rule(true, 'a', None, None, "rwm"),
        ])
        .unwrap();
        assert_eq!(run(&p, DEV_CHAR, R, 1, 3), 1);
        assert_eq!(p.len(), 6 + 2);
    }

    #[test]
    fn invalid_rules_name_their_index() {
        let e = program(&[rule(true, 'x', None, None, "r")]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "devices[0]: invalid value x: type must be a, b or c"
        );
        let e = program(&[rule(true, 'c', Some(1 << 40), None, "r")]).unwrap_err();
        assert!(e.to_string().contains("out of range"), "{e}");
    }
}
