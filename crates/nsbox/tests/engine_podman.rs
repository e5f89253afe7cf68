//! podman (Debian's, 4.3) with nsbox configured as docs/engines.md says
//! (docs/engines/podman-containers.conf: `[engine.runtimes] nsbox`, its
//! default runtime, `runtime_supports_json`): the engine calls nsbox
//! exactly as it calls runc (create with --console-socket / --pid-file,
//! start, state, exec, kill, delete), through conmon. Each test has a
//! private podman: its own containers.conf (the documented snippet merged
//! into the settings below), storage (vfs) and tmp dir under a TempDir, an
//! image imported from a busybox tarball, no network (`netns = "none"`),
//! and a relative cgroup parent.
//!
//! The containers.conf settings this machine needs besides the snippet
//! (none is nsbox-specific):
//! - `default_ulimits` within our hard limits (podman's own defaults,
//!   1048576 open files, exceed them and root here lacks CAP_SYS_RESOURCE;
//!   runc and crun fail the same way);
//! - `cgroup_manager = "cgroupfs"`, `events_logger = "file"`: no systemd;
//! - `cgroups = "no-conmon"`: conmon stays in our cgroup instead of moving
//!   itself to /libpod_parent/conmon at the root of every hierarchy.
//!
//! One file outside the TempDir is podman's own: its blob-info cache
//! (/var/lib/containers/cache/blob-info-cache-v1.boltdb, digests of layers
//! seen), which podman 4.3 keeps there for root whatever the storage root.

mod engine_support;

use std::cell::RefCell;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use engine_support::{
    busybox_tarball, cgroup_parent, host_netns, on_pty, podman_storage, remove_cgroup,
    require_tool, run_timed, scratch, snippets, wait_for, NSBOX, NSBOX_DEFAULT_ROOT,
};
use nsbox_testutil::{Output, TempDir};

const IMAGE: &str = "localhost/nsbox-test-busybox:latest";
/// Limits given to containers through `default_ulimits`.
const NOFILE: u64 = 1024;
const NPROC: u64 = 4096;

struct Podman {
    dir: TempDir,
    podman: PathBuf,
    cgroup_parent: String,
    names: RefCell<Vec<String>>,
}

impl Podman {
    fn new(tag: &str) -> Podman {
        let dir = scratch(tag);
        let podman = require_tool("podman", "podman");
        require_tool("conmon", "conmon");
        require_tool("script", "bsdutils");
        let d = dir.path().display().to_string();
        let own = format!(
            r#"[containers]
netns = "none"
cgroups = "no-conmon"
default_ulimits = ["nofile={NOFILE}:{NOFILE}", "nproc={NPROC}:{NPROC}"]

[network]
network_config_dir = "{d}/cni"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d}/events.log"
tmp_dir = "{d}/libpod-tmp"
volume_path = "{d}/volumes"
image_copy_tmp_dir = "{d}/tmp"
"#
        );
        fs::write(
            dir.join("containers.conf"),
            snippets::merge_toml(&own, "podman-containers.conf"),
        )
        .unwrap();
        podman_storage(dir.path());
        fs::create_dir_all(dir.join("cni")).unwrap();
        let p = Podman {
            podman,
            cgroup_parent: cgroup_parent(tag),
            names: RefCell::new(Vec::new()),
            dir,
        };
        let tar = busybox_tarball(p.dir.path());
        let out = p.podman(&["import", tar.to_str().unwrap(), IMAGE]);
        assert_eq!(out.code, 0, "podman import: {out:?}");
        p
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.podman);
        c.env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", self.dir.join("storage.conf"))
            .env(
                "CONTAINERS_REGISTRIES_CONF",
                self.dir.join("registries.conf"),
            )
            .env("TMPDIR", self.dir.join("tmp"));
        c
    }

    /// `podman ARGS...` (nsbox its default runtime) with a deadline.
    fn podman(&self, args: &[&str]) -> Output {
        run_timed(self.command().args(args), None, 120, self.dir.path())
    }

    /// `podman run --cgroup-parent REL ARGS...`
    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["run", "--cgroup-parent", &self.cgroup_parent];
        all.extend_from_slice(args);
        self.podman(&all)
    }

    /// A container name unique to this test, removed by the guard.
    fn name(&self, n: &str) -> String {
        let name = format!("nsbox-test-{n}-{}", std::process::id());
        self.names.borrow_mut().push(name.clone());
        name
    }

    fn inspect(&self, name: &str, format: &str) -> String {
        let out = self.podman(&["inspect", "--format", format, name]);
        assert_eq!(out.code, 0, "podman inspect: {out:?}");
        out.stdout.trim().to_string()
    }

    fn all_ids(&self) -> Vec<String> {
        self.podman(&["ps", "-a", "-q", "--no-trunc"])
            .stdout
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // The store is private: everything in it is this test's.
        let ids = self.all_ids();
        let _ = self.podman(&["rm", "--all", "--force", "--time", "0"]);
        for id in ids {
            let state = Path::new(NSBOX_DEFAULT_ROOT).join(&id);
            if state.exists() {
                let _ = Command::new(NSBOX)
                    .args(["delete", "--force", &id])
                    .output();
            }
        }
        let _ = self.podman(&["rmi", "--all", "--force"]);
        remove_cgroup(&self.cgroup_parent);
        // TempDir then detaches the shm mounts podman left beneath it.
    }
}

fn assert_state_gone(id: &str) {
    let state = Path::new(NSBOX_DEFAULT_ROOT).join(id);
    assert!(
        !state.exists(),
        "nsbox state left behind: {}",
        state.display()
    );
}

#[test]
fn run_rm_runs_and_returns_the_exit_code() {
    let p = Podman::new("podman-rm");
    let out = p.run(&[
        "--rm",
        IMAGE,
        "sh",
        "-c",
        "echo hello from $$; ulimit -n; ulimit -u; hostname; exit 7",
    ]);
    assert_eq!(out.code, 7, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0], "hello from 1",
        "pid 1 of its own pid namespace: {out:?}"
    );
    assert_eq!(
        lines[1],
        NOFILE.to_string(),
        "RLIMIT_NOFILE from default_ulimits"
    );
    assert_eq!(
        lines[2],
        NPROC.to_string(),
        "RLIMIT_NPROC from default_ulimits"
    );
    assert_eq!(
        lines[3].len(),
        12,
        "hostname is the short container id: {out:?}"
    );
    assert!(p.all_ids().is_empty(), "--rm removed the container");
}

#[test]
fn detached_container_exec_top_stop_rm() {
    let p = Podman::new("podman-d");
    let name = p.name("d");
    let out = p.run(&[
        "-d",
        "--name",
        &name,
        IMAGE,
        "sh",
        "-c",
        "trap 'echo got TERM; exit 0' TERM; echo started; sleep 1000 & wait",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let id = out.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "{out:?}");

    // podman knows nsbox ran it, and nsbox's own state agrees.
    // podman knows it by the name the documented snippet gives it.
    assert_eq!(p.inspect(&name, "{{.OCIRuntime}}"), "nsbox");
    assert_eq!(p.inspect(&name, "{{.State.Status}}"), "running");
    let pid = p.inspect(&name, "{{.State.Pid}}");
    let st = run_timed(
        Command::new(NSBOX).args(["state", &id]),
        None,
        30,
        p.dir.path(),
    )
    .success();
    let st: serde_json::Value = serde_json::from_str(&st.stdout).unwrap();
    assert_eq!(st["status"], "running");
    assert_eq!(st["pid"].to_string(), pid);

    // exec: a new process in the container's namespaces, its exit code,
    // user, working directory and environment.
    let out = p.podman(&[
        "exec",
        &name,
        "sh",
        "-c",
        "echo $$; cat /proc/1/cmdline | tr '\\0' ' '",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let mut lines = out.stdout.lines();
    assert_ne!(lines.next(), Some("1"));
    assert!(lines.next().unwrap().starts_with("sh -c trap"), "{out:?}");
    let out = p.podman(&["exec", &name, "sh", "-c", "exit 5"]);
    assert_eq!(out.code, 5, "{out:?}");
    let out = p.podman(&[
        "exec",
        "-u",
        "65534:65534",
        "-w",
        "/tmp",
        "-e",
        "GREETING=hi",
        &name,
        "sh",
        "-c",
        "id -u; id -g; pwd; echo $GREETING",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout, "65534\n65534\n/tmp\nhi\n");
    let host_pid_ns = fs::read_link("/proc/self/ns/pid").unwrap();
    let out = p.podman(&["exec", &name, "readlink", "/proc/self/ns/pid"]);
    assert_eq!(
        out.stdout.trim(),
        fs::read_link(format!("/proc/{pid}/ns/pid"))
            .unwrap()
            .display()
            .to_string()
    );
    assert_ne!(out.stdout.trim(), host_pid_ns.display().to_string());

    // top: the container's processes.
    let out = p.podman(&["top", &name]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("sleep 1000"), "{out:?}");
    assert!(out.stdout.contains("sh -c trap"), "{out:?}");

    // stop: SIGTERM through `nsbox kill`, caught by the container.
    let t = std::time::Instant::now();
    let out = p.podman(&["stop", "--time", "20", &name]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        t.elapsed().as_secs() < 15,
        "stopped by TERM, not the timeout's KILL"
    );
    assert_eq!(p.inspect(&name, "{{.State.Status}}"), "exited");
    assert_eq!(p.inspect(&name, "{{.State.ExitCode}}"), "0");
    let logs = p.podman(&["logs", &name]);
    assert_eq!(logs.stdout, "started\ngot TERM\n", "{logs:?}");

    let out = p.podman(&["rm", &name]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(p.all_ids().is_empty());
    assert_state_gone(&id);
}

#[test]
fn run_it_gets_a_terminal() {
    let p = Podman::new("podman-it");
    // script(1) runs a shell line: the environment goes in through env(1).
    let cmd = p.command();
    let env: Vec<String> = cmd
        .get_envs()
        .map(|(k, v)| format!("{}={}", k.to_str().unwrap(), v.unwrap().to_str().unwrap()))
        .collect();
    let mut args = vec!["env"];
    args.extend(env.iter().map(String::as_str));
    args.extend([p.podman.to_str().unwrap(), "run", "-it", "--rm"]);
    args.extend(["--cgroup-parent", &p.cgroup_parent, IMAGE, "sh"]);
    let out = on_pty(
        &args,
        b"test -t 0 && echo \"IS-A-TTY $(tty)\"; echo \"answer $((6*7))\"; exit 3\n",
        120,
        p.dir.path(),
    );
    let text = out.stdout.replace('\r', "");
    assert_eq!(out.code, 3, "{out:?}");
    assert!(text.contains("IS-A-TTY /dev/pts/0\n"), "{text}");
    assert!(text.contains("answer 42\n"), "{text}");
}

#[test]
fn net_container_shares_the_network_namespace() {
    let p = Podman::new("podman-net");
    let first = p.name("net-a");
    let out = p.run(&["-d", "--name", &first, IMAGE, "sleep", "1000"]);
    assert_eq!(out.code, 0, "{out:?}");
    let ns_first = p.podman(&["exec", &first, "readlink", "/proc/self/ns/net"]);
    assert_eq!(ns_first.code, 0, "{ns_first:?}");
    let ns_first = ns_first.stdout.trim().to_string();
    assert!(ns_first.starts_with("net:["), "{ns_first}");
    assert_ne!(ns_first, host_netns(), "the first container has its own");

    let joined = format!("container:{first}");
    let out = p.run(&[
        "--rm",
        "--net",
        &joined,
        IMAGE,
        "readlink",
        "/proc/self/ns/net",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), ns_first, "--net=container:NAME joins it");

    // The same network: the second container reaches a server on the
    // first one's loopback.
    let out = p.podman(&[
        "exec", "-d", &first, "nc", "-l", "-p", "7007", "-e", "echo", "pong",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let out = wait_for(30, "the first container's nc to answer", || {
        let o = p.run(&["--rm", "--net", &joined, IMAGE, "nc", "127.0.0.1", "7007"]);
        (o.code == 0 && o.stdout.contains("pong")).then_some(o)
    });
    assert_eq!(out.stdout.trim(), "pong");

    // Without --net, another container gets yet another namespace.
    let out = p.run(&["--rm", IMAGE, "readlink", "/proc/self/ns/net"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_ne!(out.stdout.trim(), ns_first);
}

#[test]
fn runtime_errors_reach_the_user() {
    // runtime_supports_json: podman reads nsbox's --log (json) and shows
    // its message, with the exit code for "command not found".
    let p = Podman::new("podman-err");
    let out = p.run(&["--rm", IMAGE, "/no/such/program"]);
    assert_eq!(out.code, 127, "{out:?}");
    assert!(
        out.stderr
            .contains(r#"exec "/no/such/program": no such file or directory"#),
        "{out:?}"
    );
    assert!(p.all_ids().is_empty(), "--rm removed the failed container");
}

// --- podman's flags that reach the runtime's config ---

/// One `podman run --rm FLAGS... IMAGE sh -c SCRIPT`, which must succeed.
fn run_sh(p: &Podman, flags: &[&str], script: &str) -> Output {
    let mut args = vec!["--rm"];
    args.extend_from_slice(flags);
    args.extend_from_slice(&[IMAGE, "sh", "-c", script]);
    let out = p.run(&args);
    assert_eq!(out.code, 0, "podman run {flags:?}: {out:?}");
    out
}

#[test]
fn read_only_root_with_writable_tmpfs_dirs() {
    // --read-only: podman asks for tmpfs with tmpcopyup on /tmp, /var/tmp
    // and /run (--read-only-tmpfs, on by default), the root read-only.
    let p = Podman::new("podman-ro");
    let out = run_sh(
        &p,
        &["--read-only"],
        "touch /etc/x 2>&1; touch /tmp/t /var/tmp/t /run/t && echo tmp-writable; \
         for d in /tmp /var/tmp /run; do grep \" $d \" /proc/mounts | cut -d' ' -f3; done; \
         grep ' / ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1",
    );
    assert_eq!(
        out.stdout, "touch: /etc/x: Read-only file system\ntmp-writable\ntmpfs\ntmpfs\ntmpfs\nro\n",
        "{out:?}"
    );
    // --read-only-tmpfs=false: nothing writable at all.
    let out = run_sh(
        &p,
        &["--read-only", "--read-only-tmpfs=false"],
        "touch /tmp/t 2>&1; grep -c ' /tmp ' /proc/mounts; true",
    );
    assert_eq!(
        out.stdout, "touch: /tmp/t: Read-only file system\n0\n",
        "{out:?}"
    );
}

#[test]
fn tmpfs_with_options() {
    // mode=1770, not tmpfs's default 1777, which /proc/mounts omits.
    let p = Podman::new("podman-tmpfs");
    let out = run_sh(
        &p,
        &["--tmpfs", "/scratch:size=1m,mode=1770"],
        "grep ' /scratch ' /proc/mounts | cut -d' ' -f3,4; stat -c %a /scratch; \
         echo x > /scratch/f && cat /scratch/f",
    );
    let mut lines = out.stdout.lines();
    let mount = lines.next().unwrap_or_default();
    assert!(mount.starts_with("tmpfs "), "{out:?}");
    for want in ["size=1024k", "mode=1770"] {
        assert!(
            mount.split([' ', ',']).any(|o| o == want),
            "{want}: {out:?}"
        );
    }
    assert_eq!(lines.collect::<Vec<_>>(), ["1770", "x"], "{out:?}");
}

#[test]
fn seccomp_profile_denies_its_syscall() {
    let p = Podman::new("podman-seccomp");
    let profile = p.dir.join("deny-mkdir.json");
    fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let out = run_sh(
        &p,
        &["--security-opt", &opt],
        "mkdir /tmp/denied 2>&1; echo rc=$?; touch /tmp/allowed && echo touch-ok",
    );
    assert_eq!(
        out.stdout,
        "mkdir: can't create directory '/tmp/denied': Operation not permitted\nrc=1\ntouch-ok\n",
        "{out:?}"
    );
}

#[test]
fn device_is_bound_under_its_new_name() {
    let p = Podman::new("podman-device");
    let out = run_sh(
        &p,
        &["--device", "/dev/null:/dev/mydev"],
        "stat -c '%F %t:%T' /dev/mydev; echo gone > /dev/mydev && head -c 3 /dev/mydev | wc -c",
    );
    assert_eq!(out.stdout, "character special file 1:3\n0\n", "{out:?}");
}

/// Whether capability `bit` is in the hexadecimal mask of a `Cap*:` line.
fn has_cap(status_line: &str, bit: u32) -> bool {
    let hex = status_line.split_whitespace().last().unwrap_or("0");
    u64::from_str_radix(hex, 16).unwrap() & (1 << bit) != 0
}

#[test]
fn cap_add_shows_in_the_effective_set() {
    const CAP_NET_ADMIN: u32 = 12;
    let p = Podman::new("podman-cap");
    let script = "grep CapEff /proc/self/status";
    let plain = run_sh(&p, &[], script);
    assert!(!has_cap(&plain.stdout, CAP_NET_ADMIN), "{plain:?}");
    let added = run_sh(&p, &["--cap-add", "NET_ADMIN"], script);
    assert!(has_cap(&added.stdout, CAP_NET_ADMIN), "{added:?}");
    // And it works: only with NET_ADMIN may the container take lo down.
    let script = "ip link set lo down 2>&1; echo rc=$?";
    let out = run_sh(&p, &[], script);
    assert_eq!(
        out.stdout, "ip: SIOCSIFFLAGS: Operation not permitted\nrc=2\n",
        "{out:?}"
    );
    let out = run_sh(&p, &["--cap-add", "NET_ADMIN"], script);
    assert_eq!(out.stdout, "rc=0\n", "{out:?}");
}

#[test]
fn sysctls_are_set_in_the_containers_namespaces() {
    let p = Podman::new("podman-sysctl");
    let host_msgmax = fs::read_to_string("/proc/sys/kernel/msgmax").unwrap();
    let out = run_sh(
        &p,
        &[
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--sysctl",
            "kernel.msgmax=4321",
        ],
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax",
    );
    assert_eq!(out.stdout, "1\n4321\n", "{out:?}");
    // The host's values did not move.
    assert_eq!(
        fs::read_to_string("/proc/sys/kernel/msgmax").unwrap(),
        host_msgmax
    );
}

#[test]
fn ulimit_nofile_is_the_containers() {
    let p = Podman::new("podman-ulimit");
    let out = run_sh(
        &p,
        // With any --ulimit podman drops default_ulimits and asks for its
        // own nproc, beyond our hard limit: given here too.
        &["--ulimit", "nofile=512:768", "--ulimit", "nproc=2048:4096"],
        "ulimit -Sn; ulimit -Hn; ulimit -Su",
    );
    assert_eq!(out.stdout, "512\n768\n2048\n", "{out:?}");
}

/// `/etc/subuid` and `/etc/subgid` with a range for user `containers`
/// (what `--userns=auto` allocates from) added when missing; the files are
/// put back as they were (or removed, if they did not exist) on drop.
struct SubIds {
    saved: Vec<(PathBuf, Option<String>)>,
}

impl SubIds {
    /// Ids given to `containers`: far above any real user's.
    const RANGE: &'static str = "containers:2000000000:200000\n";

    fn for_containers() -> SubIds {
        let mut saved = Vec::new();
        for file in ["/etc/subuid", "/etc/subgid"] {
            let path = PathBuf::from(file);
            let before = fs::read_to_string(&path).ok();
            let text = before.clone().unwrap_or_default();
            if !text.lines().any(|l| l.starts_with("containers:")) {
                let mut new = text.clone();
                if !new.is_empty() && !new.ends_with('\n') {
                    new.push('\n');
                }
                new.push_str(Self::RANGE);
                fs::write(&path, new).unwrap();
            }
            saved.push((path, before));
        }
        SubIds { saved }
    }
}

impl Drop for SubIds {
    fn drop(&mut self) {
        for (path, before) in &self.saved {
            let _ = match before {
                Some(text) => fs::write(path, text),
                None => fs::remove_file(path),
            };
        }
    }
}

#[test]
fn userns_auto_with_an_idmapped_volume() {
    let _subids = SubIds::for_containers();
    let p = Podman::new("podman-userns");
    let vol = p.dir.join("volume");
    fs::create_dir_all(&vol).unwrap();
    fs::write(vol.join("from-host"), "host\n").unwrap();
    let mount = format!("{}:/data:idmap", vol.display());
    let out = run_sh(
        &p,
        &["--userns=auto:size=65536", "-v", &mount],
        "cat /proc/self/uid_map; stat -c %u:%g /data/from-host; \
         echo inside > /data/from-container && echo written",
    );
    let mut lines = out.stdout.lines();
    // A user namespace of its own, root mapped to a range from /etc/subuid.
    let map: Vec<u64> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(map.len(), 3, "{out:?}");
    assert_eq!(map[0], 0, "{out:?}");
    assert!(map[1] >= 2_000_000_000, "mapped from /etc/subuid: {out:?}");
    // Through the idmapped volume the host's root is the container's, and
    // what the container's root writes is root's on the host.
    assert_eq!(lines.collect::<Vec<_>>(), ["0:0", "written"], "{out:?}");
    let meta = fs::metadata(vol.join("from-container")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!((meta.uid(), meta.gid()), (0, 0));
}
