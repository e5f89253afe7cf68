//! Filters loaded into real child processes, checked by what the child sees.

use std::os::unix::process::CommandExt;
use std::process::Command;

use nsbox_seccomp::{
    compile, default_profile, load, Action, ArgCondition, CompareOp, LoadFlags, Profile, Rule,
};
use nsbox_testutil::TempDir;

fn profile(rules: Vec<Rule>) -> Profile {
    Profile {
        default_action: Action::Allow,
        architectures: vec![],
        flags: LoadFlags::default(),
        rules,
    }
}

/// Runs `sh -c script` under `profile`; returns (exit code, stdout+stderr).
fn run_filtered(profile: &Profile, script: &str) -> (i32, String) {
    let program = compile(profile).unwrap();
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", script]);
    // SAFETY: the closure runs in the forked child before exec; `load` makes
    // one syscall and allocates nothing on success.
    unsafe {
        cmd.pre_exec(move || {
            load(&program)
                .map(|_| ())
                .map_err(|e| std::io::Error::other(e.to_string()))
        });
    }
    let out = cmd.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn errno_ret_reaches_the_caller() {
    let dir = TempDir::new("seccomp-errno");
    let target = dir.join("made");
    let p = profile(vec![Rule {
        names: vec!["mkdir".into(), "mkdirat".into()],
        action: Action::Errno(libc::EACCES as u32),
        args: vec![],
    }]);
    let (code, text) = run_filtered(&p, &format!("mkdir {}", target.display()));
    assert_ne!(code, 0);
    assert!(text.contains("Permission denied"), "{text}");
    assert!(!target.exists());
}

#[test]
fn argument_condition_selects_calls() {
    let dir = TempDir::new("seccomp-args");
    let f = dir.join("f");
    std::fs::write(&f, "x").unwrap();
    // fchmodat(dirfd, path, mode, flags): refuse only mode 0777.
    let p = profile(vec![Rule {
        names: vec!["fchmodat".into(), "chmod".into()],
        action: Action::Errno(libc::EPERM as u32),
        args: vec![ArgCondition {
            index: 2,
            value: 0o777,
            value_two: 0,
            op: CompareOp::Equal,
        }],
    }]);
    let (code, text) = run_filtered(&p, &format!("chmod 755 {0} && chmod 777 {0}", f.display()));
    assert_ne!(code, 0, "{text}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o755
    );
}

#[test]
fn default_errno_action_denies_everything_else() {
    // Default: fail with ENOSYS; allow only what sh needs to print and exit.
    let allowed = [
        "execve",
        "brk",
        "arch_prctl",
        "mmap",
        "munmap",
        "mprotect",
        "read",
        "write",
        "close",
        "exit_group",
        "exit",
        "openat",
        "newfstatat",
        "fstat",
        "rt_sigaction",
        "rt_sigprocmask",
        "getpid",
        "getppid",
        "getuid",
        "geteuid",
        "getgid",
        "getegid",
        "prlimit64",
        "set_tid_address",
        "set_robust_list",
        "rseq",
        "access",
        "uname",
        "getcwd",
        "pread64",
        "ioctl",
        "fcntl",
        "lseek",
        "stat",
        "lstat",
        "readlink",
        "getrandom",
        "futex",
        "sysinfo",
        "statx",
    ];
    let p = Profile {
        default_action: Action::Errno(libc::ENOSYS as u32),
        architectures: vec![],
        flags: LoadFlags::default(),
        rules: vec![Rule {
            names: allowed.iter().map(|s| s.to_string()).collect(),
            action: Action::Allow,
            args: vec![],
        }],
    };
    // `echo` needs only write; `kill` is not on the list.
    let (code, text) = run_filtered(&p, "echo hello; kill -0 $$");
    assert!(text.contains("hello"), "{text}");
    assert_ne!(code, 0, "kill should fail under the filter: {text}");
    assert!(text.contains("not implemented"), "{text}");
}

#[test]
fn default_profile_blocks_mount_and_namespaces_but_not_work() {
    nsbox_testutil::require_root();
    let dir = TempDir::new("seccomp-default");
    let (code, text) = run_filtered(
        &default_profile(&["CAP_CHOWN", "CAP_KILL"]),
        &format!(
            "echo ok > {0}/f && cat {0}/f && \
             if /bin/busybox mount -t tmpfs none {0}; then echo MOUNTED; fi; \
             if /bin/busybox unshare -n true; then echo UNSHARED; fi",
            dir.path().display()
        ),
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("ok"), "{text}");
    assert!(!text.contains("MOUNTED"), "mount must be refused: {text}");
    assert!(
        !text.contains("UNSHARED"),
        "unshare must be refused: {text}"
    );
}
