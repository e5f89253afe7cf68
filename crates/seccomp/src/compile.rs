//! Profile -> BPF, with libseccomp, in the parent. The container side then
//! only needs one seccomp(2) call (see `load`), and a compiled program can be
//! cached and reused (see `cache`).

use std::io::{Read, Seek, SeekFrom};
use std::str::FromStr;

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};

use crate::profile::{Action, ArgCondition, CompareOp, LoadFlags, Profile, Rule};
use crate::Error;

/// A compiled filter, ready to load.
#[derive(Clone, Debug)]
pub struct Program {
    pub(crate) filter: Vec<libc::sock_filter>,
    pub flags: LoadFlags,
    pub needs_listener: bool,
    /// Names in the profile that libseccomp does not know on any requested
    /// architecture; skipped, as runc and crun do, so one profile serves
    /// several kernels. Callers may log them.
    pub unknown_syscalls: Vec<String>,
}

impl Program {
    /// Number of BPF instructions.
    pub fn len(&self) -> usize {
        self.filter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.filter.is_empty()
    }

    /// The raw instructions, 8 bytes each, in the kernel's layout.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.filter.len() * 8);
        for ins in &self.filter {
            out.extend_from_slice(&ins.code.to_ne_bytes());
            out.push(ins.jt);
            out.push(ins.jf);
            out.extend_from_slice(&ins.k.to_ne_bytes());
        }
        out
    }

    /// Rebuilds a program from [`Program::to_bytes`] output.
    pub fn from_bytes(bytes: &[u8], flags: LoadFlags, needs_listener: bool) -> Option<Program> {
        if bytes.is_empty() || !bytes.len().is_multiple_of(8) {
            return None;
        }
        let filter = bytes
            .chunks_exact(8)
            .map(|c| libc::sock_filter {
                code: u16::from_ne_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
            })
            .collect();
        Some(Program {
            filter,
            flags,
            needs_listener,
            unknown_syscalls: Vec::new(),
        })
    }
}

fn action(a: Action) -> Result<ScmpAction, Error> {
    Ok(match a {
        Action::KillProcess => ScmpAction::KillProcess,
        Action::KillThread => ScmpAction::KillThread,
        Action::Trap => ScmpAction::Trap,
        Action::Errno(e) => {
            let e = i32::try_from(e)
                .ok()
                .filter(|e| *e <= 0xffff)
                .ok_or(Error::BadErrno(e))?;
            ScmpAction::Errno(e)
        }
        Action::Trace(t) => ScmpAction::Trace(u16::try_from(t).map_err(|_| Error::BadErrno(t))?),
        Action::Allow => ScmpAction::Allow,
        Action::Log => ScmpAction::Log,
        Action::Notify => ScmpAction::Notify,
    })
}

fn compare(c: &ArgCondition) -> ScmpArgCompare {
    let (op, datum) = match c.op {
        CompareOp::NotEqual => (ScmpCompareOp::NotEqual, c.value),
        CompareOp::Less => (ScmpCompareOp::Less, c.value),
        CompareOp::LessOrEqual => (ScmpCompareOp::LessOrEqual, c.value),
        CompareOp::Equal => (ScmpCompareOp::Equal, c.value),
        CompareOp::GreaterOrEqual => (ScmpCompareOp::GreaterEqual, c.value),
        CompareOp::Greater => (ScmpCompareOp::Greater, c.value),
        // OCI: value is the mask, valueTwo the value to compare with.
        CompareOp::MaskedEqual => (ScmpCompareOp::MaskedEqual(c.value), c.value_two),
    };
    ScmpArgCompare::new(c.index, op, datum)
}

/// The condition sets a rule expands to. Conditions on distinct arguments are
/// ANDed in one rule; when one argument is named twice the conditions are
/// ORed as separate rules (libseccomp cannot AND two tests of one argument;
/// this is the meaning runc gives such profiles).
fn condition_sets(rule: &Rule) -> Vec<Vec<ScmpArgCompare>> {
    let mut seen = [false; 6];
    let repeats = rule.args.iter().any(|c| {
        let i = c.index as usize;
        let dup = seen[i];
        seen[i] = true;
        dup
    });
    if repeats {
        rule.args.iter().map(|c| vec![compare(c)]).collect()
    } else {
        vec![rule.args.iter().map(compare).collect()]
    }
}

/// Compiles `profile` to BPF.
pub fn compile(profile: &Profile) -> Result<Program, Error> {
    let mut ctx = ScmpFilterContext::new(action(profile.default_action)?).map_err(Error::Init)?;
    for name in &profile.architectures {
        let arch = ScmpArch::from_str(name).map_err(|_| Error::UnknownArch(name.clone()))?;
        ctx.add_arch(arch).map_err(|source| Error::AddArch {
            arch: name.clone(),
            source,
        })?;
    }
    // A binary tree of syscall numbers: big allow-lists cost O(log n) per call.
    ctx.set_ctl_optimize(2).map_err(|source| Error::Attr {
        attr: "SCMP_FLTATR_CTL_OPTIMIZE",
        source,
    })?;

    let mut unknown = Vec::new();
    for rule in &profile.rules {
        for c in &rule.args {
            if c.index > 5 {
                return Err(Error::BadArgIndex {
                    name: rule.names.first().cloned().unwrap_or_default(),
                    index: c.index,
                });
            }
        }
        let act = action(rule.action)?;
        // libseccomp refuses a rule whose action is the default one; it would be a no-op anyway.
        if rule.action == profile.default_action {
            continue;
        }
        let sets = condition_sets(rule);
        for name in &rule.names {
            let Ok(sys) = ScmpSyscall::from_name(name) else {
                unknown.push(name.clone());
                continue;
            };
            for conds in &sets {
                let added = if conds.is_empty() {
                    ctx.add_rule(act, sys)
                } else {
                    ctx.add_rule_conditional(act, sys, conds)
                };
                added.map_err(|source| Error::AddRule {
                    name: name.clone(),
                    source,
                })?;
            }
        }
    }

    Ok(Program {
        filter: export(&ctx)?,
        flags: profile.flags,
        needs_listener: profile.needs_listener(),
        unknown_syscalls: unknown,
    })
}

fn export(ctx: &ScmpFilterContext) -> Result<Vec<libc::sock_filter>, Error> {
    let fd = rustix::fs::memfd_create("nsbox-seccomp", rustix::fs::MemfdFlags::CLOEXEC)
        .map_err(|e| Error::Export(e.into()))?;
    let mut file = std::fs::File::from(fd);
    ctx.export_bpf(&file)
        .map_err(|e| Error::Export(std::io::Error::other(e)))?;
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(Error::Export)?;
    Program::from_bytes(&bytes, LoadFlags::default(), false)
        .map(|p| p.filter)
        .ok_or_else(|| Error::Export(std::io::Error::other("libseccomp produced no instructions")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(names: &[&str], action: Action, args: Vec<ArgCondition>) -> Rule {
        Rule {
            names: names.iter().map(|s| s.to_string()).collect(),
            action,
            args,
        }
    }

    fn profile(default_action: Action, rules: Vec<Rule>) -> Profile {
        Profile {
            default_action,
            architectures: vec![
                "SCMP_ARCH_X86_64".into(),
                "SCMP_ARCH_X86".into(),
                "SCMP_ARCH_X32".into(),
            ],
            flags: LoadFlags::default(),
            rules,
        }
    }

    #[test]
    fn compiles_and_round_trips() {
        let p = profile(
            Action::Allow,
            vec![rule(&["mkdir", "mkdirat"], Action::Errno(1), vec![])],
        );
        let prog = compile(&p).unwrap();
        assert!(prog.len() > 4);
        let again = Program::from_bytes(&prog.to_bytes(), prog.flags, false).unwrap();
        assert_eq!(again.to_bytes(), prog.to_bytes());
    }

    #[test]
    fn unknown_names_are_skipped_and_reported() {
        let p = profile(
            Action::Allow,
            vec![rule(
                &["getpid", "no_such_call_xyz"],
                Action::Errno(1),
                vec![],
            )],
        );
        let prog = compile(&p).unwrap();
        assert_eq!(prog.unknown_syscalls, vec!["no_such_call_xyz".to_string()]);
    }

    #[test]
    fn bad_inputs_are_named() {
        let mut p = profile(Action::Allow, vec![]);
        p.architectures = vec!["SCMP_ARCH_Z80".into()];
        assert_eq!(
            compile(&p).unwrap_err().to_string(),
            "unknown architecture \"SCMP_ARCH_Z80\""
        );
        let cond = ArgCondition {
            index: 7,
            value: 0,
            value_two: 0,
            op: CompareOp::Equal,
        };
        let p = profile(
            Action::Allow,
            vec![rule(&["read"], Action::Errno(1), vec![cond])],
        );
        assert!(compile(&p)
            .unwrap_err()
            .to_string()
            .contains("argument index 7"));
        let err = LoadFlags::from_names(["SECCOMP_FILTER_FLAG_BOGUS"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown seccomp flag \"SECCOMP_FILTER_FLAG_BOGUS\""
        );
    }

    #[test]
    fn repeated_argument_conditions_become_alternatives() {
        let c = |v| ArgCondition {
            index: 0,
            value: v,
            value_two: 0,
            op: CompareOp::Equal,
        };
        let r = rule(&["personality"], Action::Allow, vec![c(0), c(8)]);
        assert_eq!(condition_sets(&r).len(), 2);
        let d = ArgCondition {
            index: 1,
            value: 1,
            value_two: 0,
            op: CompareOp::Equal,
        };
        let r = rule(&["x"], Action::Allow, vec![c(0), d]);
        assert_eq!(condition_sets(&r).len(), 1);
        assert_eq!(condition_sets(&r)[0].len(), 2);
    }
}
