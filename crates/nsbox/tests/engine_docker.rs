//! Docker (Debian's docker.io, dockerd 20.10) with nsbox registered as a
//! runtime in daemon.json: `docker run --runtime nsbox` makes dockerd's
//! containerd shim (`io.containerd.runc.v2`) call nsbox exactly as it calls
//! runc; and Docker Swarm with `"default-runtime": "nsbox"`.
//!
//! Each test starts its own dockerd ([`Dockerd`]), isolated from the host:
//! - in a network namespace and a mount namespace of its own (util-linux
//!   `unshare --net --mount`): docker0, the user networks' bridges, veths,
//!   iptables rules and published ports (docker-proxy) exist only there, and
//!   every mount dockerd, containerd and the shims make (overlay2 layers,
//!   shm, netns files) stays there and is gone when its last process dies;
//! - a tmpfs on /run in that mount namespace: containerd 1.6 puts its shims'
//!   sockets in /run/containerd/s whatever its state dir, dockerd makes
//!   /run/docker/plugins, iptables takes /run/xtables.lock;
//! - data-root, exec-root, socket, pidfile and its key (`deprecated-key-path`,
//!   else /etc/docker/key.json) under a TempDir; the CLI's config there too;
//! - `native.cgroupdriver=cgroupfs` and a relative `cgroup-parent`: dockerd
//!   then sends `cgroupsPath: "PARENT/ID"`, which nsbox places beneath the
//!   test's own cgroup in every hierarchy;
//! - `default-ulimits` within our hard limits (root here lacks
//!   CAP_SYS_RESOURCE), overlay2 (vfs where overlay2 cannot run).
//!
//! A guard tears it all down, on failure too: `docker rm -f` of every
//! container, SIGTERM then SIGKILL to dockerd, SIGKILL to whatever is left in
//! its namespaces (containerd, shims, docker-proxy) or in its cgroups
//! (containers, thawed first), then the cgroups. A test that reaches its
//! end also asserts that nothing is left on the host ([`Dockerd::finish`]).
//!
//! The image is `docker import` of a busybox tarball (no network). The
//! docker CLI is Debian's /usr/bin/docker (another one may come first on
//! PATH), pointed at the daemon with `-H unix://SOCKET --config DIR`.

mod engine_support;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use engine_support::{
    alive, busybox_tarball, cgroup_dirs, cgroup_parent, cgroup_pids, kill_all, on_pty, pids_in_ns,
    remove_cgroup, require_tool, run_timed, scratch, thaw_cgroup, wait_for, NSBOX,
};
use nsbox_testutil::{Output, TempDir};

const IMAGE: &str = "nsbox-test-busybox:latest";
/// Debian's docker CLI, from the same package as dockerd.
const DOCKER_CLI: &str = "/usr/bin/docker";
/// Limits given to containers through `default-ulimits`.
const NOFILE: u64 = 1024;
const NPROC: u64 = 4096;
/// The address of the dockerd network namespace's own interface (a veth
/// pair inside it), for `docker swarm init --advertise-addr`: TEST-NET-1,
/// never routed.
const ADVERTISE: &str = "192.0.2.1";

/// What the host looked like before the daemon started, to compare with
/// after it is gone.
struct HostView {
    links: BTreeSet<String>,
    docker_rules: Vec<String>,
    run_docker: bool,
    run_containerd: bool,
    etc_key: bool,
}

impl HostView {
    fn now() -> HostView {
        HostView {
            links: host_links(),
            docker_rules: host_docker_rules(),
            run_docker: Path::new("/run/docker").exists(),
            run_containerd: Path::new("/run/containerd").exists(),
            etc_key: Path::new("/etc/docker/key.json").exists(),
        }
    }
}

/// Link names of the host's (our) network namespace.
fn host_links() -> BTreeSet<String> {
    fs::read_dir("/sys/class/net")
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// The host's iptables rules that name Docker's chains.
fn host_docker_rules() -> Vec<String> {
    let out = nsbox_testutil::run("iptables", ["-w", "-S"]);
    let nat = nsbox_testutil::run("iptables", ["-w", "-t", "nat", "-S"]);
    out.stdout
        .lines()
        .chain(nat.stdout.lines())
        .filter(|l| l.contains("DOCKER"))
        .map(str::to_string)
        .collect()
}

struct Dockerd {
    dir: TempDir,
    docker: PathBuf,
    daemon: Child,
    /// The daemon's mount and network namespaces: their names
    /// (`mnt:[INODE]`) and open files that pin them, so that no namespace
    /// made later (another test's container) gets the same inode while we
    /// look for processes by it.
    mnt_ns: String,
    net_ns: String,
    ns_pins: Vec<fs::File>,
    cgroup_parent: String,
    host: HostView,
    storage: &'static str,
    swarm: bool,
    torn_down: bool,
}

impl Dockerd {
    /// A private dockerd with nsbox registered as runtime `nsbox` (and the
    /// default one when `swarm`), the busybox image imported.
    fn start(tag: &str, swarm: bool) -> Dockerd {
        let dir = scratch(tag);
        let dockerd = require_tool("dockerd", "docker.io");
        require_tool("containerd", "containerd");
        require_tool("containerd-shim-runc-v2", "containerd");
        require_tool("iptables", "iptables");
        require_tool("unshare", "util-linux");
        require_tool("nsenter", "util-linux");
        require_tool("ip", "iproute2");
        require_tool("script", "bsdutils");
        let docker = PathBuf::from(DOCKER_CLI);
        assert!(
            docker.is_file(),
            "{DOCKER_CLI} missing: apt-get install docker.io (scripts/test.sh installs it)"
        );
        let host = HostView::now();
        let cgroup_parent = cgroup_parent(tag);
        let d = dir.path().display().to_string();
        let storage = if overlay_works(dir.path()) {
            "overlay2"
        } else {
            "vfs"
        };
        let mut config = serde_json::json!({
            "data-root": format!("{d}/data"),
            "exec-root": format!("{d}/exec"),
            "pidfile": format!("{d}/docker.pid"),
            "hosts": [format!("unix://{d}/docker.sock")],
            "deprecated-key-path": format!("{d}/key.json"),
            "exec-opts": ["native.cgroupdriver=cgroupfs"],
            "cgroup-parent": cgroup_parent,
            "storage-driver": storage,
            "runtimes": {"nsbox": {"path": NSBOX}},
            "default-ulimits": {
                "nofile": {"Name": "nofile", "Hard": NOFILE, "Soft": NOFILE},
                "nproc": {"Name": "nproc", "Hard": NPROC, "Soft": NPROC}
            },
            "shutdown-timeout": 1,
            "log-level": "info"
        });
        if swarm {
            config["default-runtime"] = "nsbox".into();
        }
        fs::write(
            dir.join("daemon.json"),
            serde_json::to_vec_pretty(&config).unwrap(),
        )
        .unwrap();
        fs::create_dir_all(dir.join("cli")).unwrap();

        // In the new namespaces: loopback up (published ports answer on
        // it), an interface with an address for swarm to advertise, a
        // private /run, then dockerd itself (exec: its pid is the child's).
        let script = r#"set -e
ip link set lo up
ip link add nsbox-adv type veth peer name nsbox-adv-peer
ip addr add "$3/24" dev nsbox-adv
ip link set nsbox-adv-peer up
ip link set nsbox-adv up
mount -t tmpfs -o mode=0755 nsbox-docker-run /run
exec "$1" --config-file "$2"
"#;
        let log = fs::File::create(dir.join("dockerd.log")).unwrap();
        let daemon = Command::new("unshare")
            .args(["--net", "--mount", "--propagation", "private", "--"])
            .args(["sh", "-c", script, "sh"])
            .arg(&dockerd)
            .arg(dir.join("daemon.json"))
            .arg(ADVERTISE)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start unshare ... dockerd");
        let mut d = Dockerd {
            dir,
            docker,
            mnt_ns: String::new(),
            net_ns: String::new(),
            ns_pins: Vec::new(),
            daemon,
            cgroup_parent,
            host,
            storage,
            swarm,
            torn_down: false,
        };
        let pid = d.daemon.id();
        let self_mnt = fs::read_link("/proc/self/ns/mnt").unwrap();
        wait_for(60, "dockerd to serve", || {
            if let Ok(Some(st)) = d.daemon.try_wait() {
                panic!("dockerd exited ({st}): {}", d.log());
            }
            // Its namespaces, once unshare has made them.
            if d.ns_pins.is_empty() {
                let mnt = fs::read_link(format!("/proc/{pid}/ns/mnt")).ok()?;
                if mnt == self_mnt {
                    return None;
                }
                let pins = ["mnt", "net"].map(|k| fs::File::open(format!("/proc/{pid}/ns/{k}")));
                let [Ok(m), Ok(n)] = pins else { return None };
                // Named after pinning: the names are now the pinned ones'.
                d.mnt_ns = fs::read_link(format!("/proc/{pid}/ns/mnt"))
                    .ok()?
                    .display()
                    .to_string();
                d.net_ns = fs::read_link(format!("/proc/{pid}/ns/net"))
                    .ok()?
                    .display()
                    .to_string();
                if d.mnt_ns != mnt.display().to_string() {
                    return None;
                }
                d.ns_pins = vec![m, n];
            }
            (d.dir.join("docker.sock").exists() && d.try_docker(&["version"], 10).code == 0)
                .then_some(())
        });
        let info = d.docker(&["info", "--format", "{{.Driver}} {{.CgroupDriver}}"]);
        assert_eq!(
            info.stdout.trim(),
            format!("{storage} cgroupfs"),
            "{info:?}"
        );
        let tar = busybox_tarball(d.dir.path());
        let out = d.docker(&["import", tar.to_str().unwrap(), IMAGE]);
        assert_eq!(out.code, 0, "docker import: {out:?}\n{}", d.log());
        d
    }

    /// The docker CLI, talking to this daemon only.
    fn command(&self) -> Command {
        let mut c = Command::new(&self.docker);
        c.args(self.cli_flags());
        c
    }

    fn cli_flags(&self) -> Vec<String> {
        vec![
            "--config".into(),
            self.dir.join("cli").display().to_string(),
            "-H".into(),
            format!("unix://{}", self.dir.join("docker.sock").display()),
        ]
    }

    fn try_docker(&self, args: &[&str], secs: u64) -> Output {
        run_timed(self.command().args(args), None, secs, self.dir.path())
    }

    /// `docker ARGS...` with a deadline.
    fn docker(&self, args: &[&str]) -> Output {
        self.try_docker(args, 120)
    }

    /// `docker run --runtime nsbox ARGS...`
    fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["run", "--runtime", "nsbox"];
        all.extend_from_slice(args);
        self.docker(&all)
    }

    fn inspect(&self, name: &str, format: &str) -> String {
        let out = self.docker(&["inspect", "--format", format, name]);
        assert_eq!(out.code, 0, "docker inspect {name}: {out:?}");
        out.stdout.trim().to_string()
    }

    /// The pid dockerd's process has (unshare exec'd it).
    fn pid(&self) -> u32 {
        self.daemon.id()
    }

    /// nsbox's --root as dockerd's shim passes it: the shim's runc root
    /// (`EXEC-ROOT/runtime-runc`, the same for every runtime in Docker
    /// 20.10) and the containerd namespace `moby`.
    fn nsbox_root(&self) -> PathBuf {
        self.dir.join("exec/runtime-runc/moby")
    }

    /// Container ids in nsbox's state (`nsbox --root R list --quiet`).
    fn nsbox_ids(&self) -> BTreeSet<String> {
        let out = run_timed(
            Command::new(NSBOX)
                .arg("--root")
                .arg(self.nsbox_root())
                .args(["list", "--quiet"]),
            None,
            30,
            self.dir.path(),
        )
        .success();
        out.stdout.split_whitespace().map(str::to_string).collect()
    }

    /// Mount points of dockerd's mount namespace.
    fn daemon_mounts(&self) -> String {
        fs::read_to_string(format!("/proc/{}/mountinfo", self.pid())).unwrap()
    }

    /// `nsenter --net=DOCKERD'S NETNS PROG ARGS...`: a host program on the
    /// daemon's network (where its published ports listen).
    fn in_daemon_netns(&self, prog: &str, args: &[&str]) -> Output {
        run_timed(
            Command::new("nsenter")
                .arg(format!("--net=/proc/{}/ns/net", self.pid()))
                .arg("--")
                .arg(prog)
                .args(args),
            None,
            30,
            self.dir.path(),
        )
    }

    fn log(&self) -> String {
        let log = fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        // The end is what matters; the start is plugin loading.
        let tail: Vec<&str> = log.lines().rev().take(60).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// The container cgroup directories of `id` (one per hierarchy).
    fn container_cgroups(&self, id: &str) -> Vec<PathBuf> {
        cgroup_dirs(&format!("{}/{id}", self.cgroup_parent))
    }

    /// Processes of this daemon: in its namespaces (dockerd, containerd,
    /// shims, docker-proxy) or its cgroups (containers).
    fn processes(&self) -> Vec<i32> {
        let mut pids = cgroup_pids(&self.cgroup_parent);
        if !self.ns_pins.is_empty() {
            pids.extend(pids_in_ns("mnt", &self.mnt_ns));
            pids.extend(pids_in_ns("net", &self.net_ns));
        }
        pids.retain(|&p| alive(p));
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Stops everything this daemon started; safe to call twice. Returns
    /// the container cgroups nsbox had not removed after `docker rm -f`,
    /// and the processes that outlived 20 s of SIGKILL.
    fn tear_down(&mut self) -> (Vec<PathBuf>, Vec<i32>) {
        if self.torn_down {
            return (Vec::new(), Vec::new());
        }
        self.torn_down = true;
        let running = matches!(self.daemon.try_wait(), Ok(None));
        if running {
            if self.swarm {
                let _ = self.try_docker(&["swarm", "leave", "--force"], 60);
            }
            let ids = self.try_docker(&["ps", "-aq", "--no-trunc"], 30).stdout;
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let mut args = vec!["rm", "-f"];
                args.extend(ids);
                let _ = self.try_docker(&args, 120);
            }
        }
        let left = leftover_container_cgroups(&self.cgroup_parent);
        if running {
            // SAFETY: kill(2) with a valid signal; the pid is our child,
            // not yet reaped (try_wait said it runs), so not reused.
            unsafe { libc::kill(self.daemon.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline && matches!(self.daemon.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
        let deadline = Instant::now() + Duration::from_secs(20);
        let procs = loop {
            thaw_cgroup(&self.cgroup_parent);
            let pids = self.processes();
            if pids.is_empty() || Instant::now() > deadline {
                break pids;
            }
            kill_all(&pids);
            std::thread::sleep(Duration::from_millis(100));
        };
        remove_cgroup(&self.cgroup_parent);
        // Unpinned, the namespaces die (and their mounts with the mount
        // namespace); their names may then come back for others'.
        self.ns_pins.clear();
        self.mnt_ns.clear();
        self.net_ns.clear();
        (left, procs)
    }

    /// Tears the daemon down and asserts that nothing of it is left: no
    /// process, no container cgroup, no mount, no link or iptables rule in
    /// the host's network namespace, nothing in /run or /etc/docker.
    fn finish(mut self) {
        let (left, procs) = self.tear_down();
        assert!(
            left.is_empty(),
            "container cgroups left after docker rm -f: {left:?}"
        );
        assert!(procs.is_empty(), "processes left: {procs:?}");
        let gone: Vec<PathBuf> = cgroup_dirs(&self.cgroup_parent)
            .into_iter()
            .filter(|d| d.exists())
            .collect();
        assert!(gone.is_empty(), "cgroups left: {gone:?}");
        let dir = self.dir.path().display().to_string();
        let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let ours: Vec<&str> = mounts.lines().filter(|l| l.contains(&dir)).collect();
        assert!(ours.is_empty(), "mounts in the host's namespace: {ours:?}");
        let now = HostView::now();
        let new_links: Vec<&String> = now
            .links
            .difference(&self.host.links)
            .filter(|l| l.starts_with("docker") || l.starts_with("br-") || l.starts_with("veth"))
            .collect();
        assert!(new_links.is_empty(), "links in the host: {new_links:?}");
        assert_eq!(
            now.docker_rules, self.host.docker_rules,
            "iptables rules in the host"
        );
        assert_eq!(
            (now.run_docker, now.run_containerd, now.etc_key),
            (
                self.host.run_docker,
                self.host.run_containerd,
                self.host.etc_key
            ),
            "/run/docker, /run/containerd, /etc/docker/key.json made on the host"
        );
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        self.tear_down();
        // TempDir then removes data-root and exec-root (their mounts died
        // with the daemon's mount namespace).
    }
}

/// Directories beneath `parent` in any hierarchy: container cgroups
/// (`PARENT/ID`) nsbox should have removed on delete.
fn leftover_container_cgroups(parent: &str) -> Vec<PathBuf> {
    let mut left = Vec::new();
    for top in cgroup_dirs(parent) {
        if let Ok(rd) = fs::read_dir(&top) {
            left.extend(
                rd.flatten()
                    .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                    .map(|e| e.path()),
            );
        }
    }
    left
}

/// Whether an overlay mount works on the file system of `dir` (dockerd's
/// overlay2 then works too), tried in a mount namespace of its own.
fn overlay_works(dir: &Path) -> bool {
    let t = dir.join("overlay-probe");
    for d in ["l", "u", "w", "m"] {
        fs::create_dir_all(t.join(d)).unwrap();
    }
    let opts = format!("lowerdir={0}/l,upperdir={0}/u,workdir={0}/w", t.display());
    let ok = nsbox_testutil::run(
        "unshare",
        [
            "--mount",
            "--propagation",
            "private",
            "mount",
            "-t",
            "overlay",
            "overlay",
            "-o",
            &opts,
            t.join("m").to_str().unwrap(),
        ],
    )
    .code
        == 0;
    let _ = fs::remove_dir_all(&t);
    ok
}

/// Readlink of /proc/PID/ns/KIND.
fn ns_of(pid: &str, kind: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

/// A value of /proc/PID/status.
fn status_field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("{key} not in {text}"))
        .trim()
        .to_string()
}

#[test]
fn docker_run_output_exit_codes_and_options() {
    let d = Dockerd::start("docker-run", false);

    // --rm: the output, pid 1 of its own pid namespace, a network namespace
    // of its own, the rlimits of default-ulimits, the short id as hostname,
    // the exit code; nothing left.
    let out = d.run(&[
        "--rm",
        IMAGE,
        "sh",
        "-c",
        "echo hello from $$; readlink /proc/self/ns/net; ulimit -n; ulimit -u; hostname; exit 3",
    ]);
    assert_eq!(out.code, 3, "{out:?}\n{}", d.log());
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{out:?}");
    assert_eq!(lines[0], "hello from 1");
    assert_ne!(lines[1], ns_of("self", "net"), "its own network namespace");
    assert_eq!(lines[2], NOFILE.to_string(), "RLIMIT_NOFILE");
    assert_eq!(lines[3], NPROC.to_string(), "RLIMIT_NPROC");
    assert_eq!(lines[4].len(), 12, "hostname is the short id: {out:?}");
    let all = d.docker(&["ps", "-aq"]);
    assert!(all.stdout.trim().is_empty(), "--rm removed it: {all:?}");
    assert!(
        d.nsbox_root().is_dir(),
        "the shim ran nsbox with this --root"
    );
    assert!(d.nsbox_ids().is_empty(), "no nsbox state left");

    // -u: user and group.
    let out = d.run(&["--rm", "-u", "1000:1000", IMAGE, "id"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stdout.trim(), "uid=1000 gid=1000 groups=1000");

    // --cap-drop ALL: no capability left in any set.
    let out = d.run(&[
        "--rm",
        "--cap-drop",
        "ALL",
        IMAGE,
        "cat",
        "/proc/self/status",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(status_field(&out.stdout, set), "0000000000000000", "{set}");
    }
    // Without it, Docker's default set (CAP_CHOWN and more).
    let out = d.run(&["--rm", IMAGE, "cat", "/proc/self/status"]);
    assert_ne!(status_field(&out.stdout, "CapEff"), "0000000000000000");

    // --read-only --tmpfs /tmp: the root refuses writes, /tmp takes them.
    let out = d.run(&[
        "--rm",
        "--read-only",
        "--tmpfs",
        "/tmp",
        IMAGE,
        "sh",
        "-c",
        "touch /file 2>&1; echo root=$?; touch /tmp/file && echo tmp=$?; grep ' /tmp ' /proc/mounts",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("Read-only file system"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("root=1\n"), "{}", out.stdout);
    assert!(out.stdout.contains("tmp=0\n"), "{}", out.stdout);
    assert!(out.stdout.contains("tmpfs /tmp tmpfs rw"), "{}", out.stdout);

    // --init: docker-init (tini) is PID 1, the command its child.
    let out = d.run(&[
        "--rm",
        "--init",
        IMAGE,
        "sh",
        "-c",
        "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("/sbin/docker-init -- sh -c"),
        "{out:?}"
    );
    assert_ne!(lines[1], "1", "the shell is not PID 1");

    d.finish();
}

#[test]
fn docker_run_exit_codes_for_bad_programs_are_runcs() {
    // Docker's CLI picks its exit code from the runtime's message, matched
    // case-sensitively against runc's (Go's) lowercase errno texts: 127 for
    // "no such file or directory" / "executable file not found", 126 for
    // "permission denied", else 125. (The daemon's own match ignores case:
    // State.ExitCode is right either way.)
    let d = Dockerd::start("docker-exit", false);
    let out = d.run(&["--name", "missing", IMAGE, "/no/such/program"]);
    assert!(out.stderr.contains("/no/such/program"), "{out:?}");
    assert_eq!(d.inspect("missing", "{{.State.ExitCode}}"), "127");
    let out2 = d.run(&["--name", "noexec", IMAGE, "/etc/passwd"]);
    assert_eq!(d.inspect("noexec", "{{.State.ExitCode}}"), "126");
    d.docker(&["rm", "missing", "noexec"]).success();
    assert!(d.nsbox_ids().is_empty());
    assert_eq!(out.code, 127, "docker run of a missing program: {out:?}");
    assert_eq!(
        out2.code, 126,
        "docker run of a non-executable file: {out2:?}"
    );
    d.finish();
}

#[test]
fn docker_resource_limits() {
    let d = Dockerd::start("docker-limits", false);

    // -m 64m: the limit in the container's own cgroup (seen inside, and on
    // the host beneath the test's cgroup), then an OOM kill: exit 137.
    let out = d.run(&["-d", "--name", "mem", "-m", "64m", IMAGE, "sleep", "1000"]);
    assert_eq!(out.code, 0, "{out:?}\n{}", d.log());
    let id = out.stdout.trim().to_string();
    let inside = d.docker(&[
        "exec",
        "mem",
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    ]);
    assert_eq!(inside.stdout.trim(), "67108864", "{inside:?}");
    let on_host: Vec<String> = d
        .container_cgroups(&id)
        .iter()
        .flat_map(|c| {
            ["memory.limit_in_bytes", "memory.max"]
                .into_iter()
                .filter_map(move |f| fs::read_to_string(c.join(f)).ok())
        })
        .collect();
    assert_eq!(
        on_host.iter().map(|s| s.trim()).collect::<Vec<_>>(),
        ["67108864"],
        "the limit in the container's cgroup beneath ours"
    );
    d.docker(&["rm", "-f", "mem"]).success();

    let out = d.run(&[
        "--name",
        "oom",
        "-m",
        "64m",
        IMAGE,
        "sh",
        "-c",
        "x=0123456789abcdef; while true; do x=$x$x; done",
    ]);
    assert_eq!(out.code, 137, "killed by the OOM killer: {out:?}");
    assert_eq!(d.inspect("oom", "{{.State.OOMKilled}}"), "true");
    assert_eq!(d.inspect("oom", "{{.State.ExitCode}}"), "137");
    d.docker(&["rm", "oom"]).success();

    // --cpus 0.5: a CFS quota of half the period.
    let out = d.run(&[
        "--rm",
        "--cpus",
        "0.5",
        IMAGE,
        "sh",
        "-c",
        "cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us /sys/fs/cgroup/cpu/cpu.cfs_period_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stdout.split_whitespace().collect::<Vec<_>>(),
        ["50000", "100000"],
        "{out:?}"
    );

    // --pids-limit 10: pids.max, and the eleventh process is refused.
    let out = d.run(&[
        "--rm",
        "--pids-limit",
        "10",
        IMAGE,
        "sh",
        "-c",
        "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; \
         sh -c 'for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do sleep 30 & done' 2>/tmp/err; \
         echo inner=$?; set -- /proc/[0-9]*; echo procs=$#; cat /tmp/err",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "10", "{out:?}");
    // A shell forking 15 sleeps is refused its tenth process and dies;
    // what ran (counted without forking) stayed within the limit.
    assert_ne!(lines[1], "inner=0", "{out:?}");
    let procs: u32 = lines[2].strip_prefix("procs=").unwrap().parse().unwrap();
    assert!((2..=10).contains(&procs), "{out:?}");
    assert!(out.stdout.contains("can't fork"), "{out:?}");

    d.finish();
}

#[test]
fn docker_detached_container_lifecycle() {
    let d = Dockerd::start("docker-life", false);

    // The seeds' example: `run -itd --name test`, then a second container
    // on its network namespace: the same net namespace, its own uts one.
    let out = d.run(&["-itd", "--name", "test", IMAGE, "sh"]);
    assert_eq!(out.code, 0, "{out:?}\n{}", d.log());
    let id = out.stdout.trim().to_string();
    assert_eq!(id.len(), 64, "{out:?}");
    assert_eq!(d.inspect("test", "{{.HostConfig.Runtime}}"), "nsbox");
    assert_eq!(d.inspect("test", "{{.State.Status}}"), "running");
    let pid = d.inspect("test", "{{.State.Pid}}");
    assert!(d.nsbox_ids().contains(&id), "nsbox's state has it");
    let out = d.run(&[
        "--rm",
        "--net=container:test",
        IMAGE,
        "sh",
        "-c",
        "readlink /proc/self/ns/net; readlink /proc/self/ns/uts",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], ns_of(&pid, "net"), "shares test's net namespace");
    assert_ne!(lines[1], ns_of(&pid, "uts"), "not its uts namespace");
    assert_ne!(lines[0], ns_of("self", "net"));

    // exec: another process in the container's namespaces, exit code back.
    let out = d.docker(&[
        "exec",
        "test",
        "sh",
        "-c",
        "echo $$; readlink /proc/self/ns/pid; exit 5",
    ]);
    assert_eq!(out.code, 5, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_ne!(lines[0], "1");
    assert_eq!(lines[1], ns_of(&pid, "pid"));

    // exec -it on a pty (script(1)): a terminal inside, the exit code out.
    let mut args: Vec<String> = vec![DOCKER_CLI.into()];
    args.extend(d.cli_flags());
    args.extend(["exec", "-it", "test", "sh"].map(String::from));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = on_pty(
        &argv,
        b"test -t 0 && echo \"IS-A-TTY $(tty)\"; echo \"answer $((6*7))\"; exit 4\n",
        120,
        d.dir.path(),
    );
    let text = out.stdout.replace('\r', "");
    assert_eq!(out.code, 4, "{out:?}");
    assert!(text.contains("IS-A-TTY /dev/pts/"), "{text}");
    assert!(text.contains("answer 42\n"), "{text}");

    // top: the container's processes, with their host pids.
    let out = d.docker(&["top", "test"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(pid.as_str()) && l.ends_with(" sh")),
        "{out:?}"
    );

    // stats --no-stream: numbers from the container's cgroup.
    let out = d.docker(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDs}} {{.MemUsage}}",
        "test",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let f: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(f[0], "test", "{out:?}");
    assert!(f[1].parse::<u32>().unwrap() >= 1, "{out:?}");
    assert!(!f[2].starts_with("0B"), "memory in use: {out:?}");

    // pause: the container's processes are frozen (a counter stops),
    // unpause: they go on.
    let out = d.docker(&[
        "exec",
        "-d",
        "test",
        "sh",
        "-c",
        "i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let count = || -> u64 {
        fs::read_to_string(format!("/proc/{pid}/root/tmp/count"))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    };
    wait_for(30, "the counter to run", || (count() > 2).then_some(()));
    d.docker(&["pause", "test"]).success();
    assert_eq!(d.inspect("test", "{{.State.Status}}"), "paused");
    let frozen = count();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(), frozen, "a paused container does not run");
    let freezer: Vec<String> = d
        .container_cgroups(&id)
        .iter()
        .filter_map(|c| fs::read_to_string(c.join("freezer.state")).ok())
        .collect();
    assert!(freezer.iter().all(|s| s.trim() == "FROZEN"), "{freezer:?}");
    d.docker(&["unpause", "test"]).success();
    assert_eq!(d.inspect("test", "{{.State.Status}}"), "running");
    wait_for(30, "the counter to go on", || {
        (count() > frozen + 2).then_some(())
    });

    // nsenter from the host (the seeds' debugging trick): the container's
    // uts and net namespaces with the host's tools.
    let out = run_timed(
        Command::new("nsenter")
            .args(["-t", &pid, "-u", "-n", "sh", "-c"])
            .arg("hostname; readlink /proc/self/ns/net; ip -o -4 addr show dev eth0"),
        None,
        30,
        d.dir.path(),
    );
    assert_eq!(out.code, 0, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], &id[..12], "the container's hostname");
    assert_eq!(lines[1], ns_of(&pid, "net"));
    let ip = d.inspect("test", "{{.NetworkSettings.IPAddress}}");
    assert!(lines[2].contains(&format!("inet {ip}/")), "{out:?}");

    // rm -f: no nsbox state, no cgroup, no mount left behind.
    // (vfs mounts nothing: its layers are plain directories.)
    let merged = d.inspect("test", "{{.GraphDriver.Data.MergedDir}}");
    let overlay = d.storage == "overlay2";
    assert!(!overlay || d.daemon_mounts().contains(&merged), "{merged}");
    d.docker(&["rm", "-f", "test"]).success();
    assert!(!d.nsbox_ids().contains(&id), "nsbox state left");
    assert!(!d.nsbox_root().join(&id).exists());
    let cgroups: Vec<PathBuf> = d
        .container_cgroups(&id)
        .into_iter()
        .filter(|c| c.exists())
        .collect();
    assert!(cgroups.is_empty(), "cgroups left: {cgroups:?}");
    let mounts = d.daemon_mounts();
    assert!(!mounts.contains(&id), "a mount of {id} left: {mounts}");
    assert!(
        !overlay || !mounts.contains(&merged),
        "{merged} still mounted"
    );
    assert!(!alive(pid.parse().unwrap()));

    // stop (SIGTERM through nsbox kill, caught), start again, logs of both
    // runs.
    let out = d.run(&[
        "-d",
        "--name",
        "life",
        IMAGE,
        "sh",
        "-c",
        "echo started; trap 'echo got TERM; exit 0' TERM; sleep 1000 & wait",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    wait_for(30, "the first start's output", || {
        d.docker(&["logs", "life"])
            .stdout
            .contains("started")
            .then_some(())
    });
    let t = Instant::now();
    d.docker(&["stop", "-t", "20", "life"]).success();
    assert!(t.elapsed().as_secs() < 15, "stopped by TERM, not by KILL");
    assert_eq!(d.inspect("life", "{{.State.Status}}"), "exited");
    assert_eq!(d.inspect("life", "{{.State.ExitCode}}"), "0");
    let first_pid = d.inspect("life", "{{.State.Pid}}");
    assert_eq!(first_pid, "0", "no process once stopped");
    d.docker(&["start", "life"]).success();
    assert_eq!(d.inspect("life", "{{.State.Status}}"), "running");
    wait_for(30, "the second start's output", || {
        (d.docker(&["logs", "life"]).stdout == "started\ngot TERM\nstarted\n").then_some(())
    });
    d.docker(&["rm", "-f", "life"]).success();
    assert!(d.nsbox_ids().is_empty());

    d.finish();
}

#[test]
fn docker_networks_and_published_ports() {
    let d = Dockerd::start("docker-net", false);

    // A user-defined network: one container reaches another by name
    // (Docker's embedded DNS, set up in the container's namespace).
    d.docker(&["network", "create", "nsbox-test-net"]).success();
    let out = d.run(&[
        "-d",
        "--net",
        "nsbox-test-net",
        "--name",
        "server",
        IMAGE,
        "sh",
        "-c",
        "while true; do echo hello-from-server | nc -l -p 7007; done",
    ]);
    assert_eq!(out.code, 0, "{out:?}\n{}", d.log());
    let out = wait_for(30, "server to answer by name", || {
        let o = d.run(&[
            "--rm",
            "--net",
            "nsbox-test-net",
            IMAGE,
            "sh",
            "-c",
            "ping -c 1 -W 5 server && nc server 7007 </dev/null",
        ]);
        (o.code == 0 && o.stdout.contains("hello-from-server")).then_some(o)
    });
    let ip = d.inspect(
        "server",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
    );
    assert!(
        out.stdout.contains(&format!("PING server ({ip})")),
        "{out:?}"
    );

    // -p 127.0.0.1:HOST:CONTAINER: httpd in the container answers on the
    // loopback of the daemon's network namespace (the test's "host").
    let out = d.run(&[
        "-d",
        "--name",
        "web",
        "-p",
        "127.0.0.1:18080:80",
        IMAGE,
        "sh",
        "-c",
        "mkdir /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www",
    ]);
    assert_eq!(out.code, 0, "{out:?}");
    let port = d.docker(&["port", "web", "80"]);
    assert_eq!(port.stdout.trim(), "127.0.0.1:18080", "{port:?}");
    let out = wait_for(30, "the published port to answer", || {
        let o = d.in_daemon_netns(
            "/bin/busybox",
            &["wget", "-q", "-O", "-", "http://127.0.0.1:18080/"],
        );
        (o.code == 0).then_some(o)
    });
    assert_eq!(out.stdout, "hello-from-web\n");
    // The daemon's bridge and rules are in its namespace, not ours.
    let links = d.in_daemon_netns("ip", &["-o", "link", "show", "docker0"]);
    assert_eq!(links.code, 0, "docker0 in the daemon's netns: {links:?}");
    assert!(!host_links().contains("docker0") || d.host.links.contains("docker0"));

    d.docker(&["rm", "-f", "server", "web"]).success();
    d.docker(&["network", "rm", "nsbox-test-net"]).success();
    assert!(d.nsbox_ids().is_empty());
    d.finish();
}

/// Docker Swarm on the test's dockerd, nsbox its default runtime.
struct Service<'a> {
    d: &'a Dockerd,
    name: &'a str,
    /// Every task container seen running, checked to run on nsbox.
    seen: BTreeSet<String>,
}

impl Service<'_> {
    /// Ids of this service's running task containers.
    fn running(&self) -> BTreeSet<String> {
        let label = format!("label=com.docker.swarm.service.name={}", self.name);
        let out = self
            .d
            .docker(&["ps", "-q", "--no-trunc", "--filter", &label]);
        assert_eq!(out.code, 0, "{out:?}");
        out.stdout.split_whitespace().map(str::to_string).collect()
    }

    /// Waits until `n` tasks run and nsbox runs exactly those containers;
    /// checks each ran on nsbox. Returns their ids.
    fn converge(&mut self, n: usize, what: &str) -> BTreeSet<String> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let ids = loop {
            let ids = self.running();
            let nsbox = self.d.nsbox_ids();
            let replicas = self
                .d
                .docker(&["service", "ls", "--filter", &format!("name={}", self.name)])
                .stdout;
            if ids.len() == n && nsbox == ids && replicas.contains(&format!(" {n}/{n} ")) {
                break ids;
            }
            if Instant::now() > deadline {
                let tasks = self.d.docker(&["service", "ps", "--no-trunc", self.name]);
                let all = self.d.docker(&["ps", "-a", "--no-trunc"]);
                panic!(
                    "timed out waiting for {what}: running {ids:?}, nsbox {nsbox:?}\n\
                     {replicas}\n{}\n{}\n{}",
                    tasks.stdout,
                    all.stdout,
                    self.d.log()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        for id in &ids {
            if self.seen.insert(id.clone()) {
                assert_eq!(
                    self.d.inspect(id, "{{.HostConfig.Runtime}}"),
                    "nsbox",
                    "task container {id}"
                );
                let pid = self.d.inspect(id, "{{.State.Pid}}");
                assert_ne!(ns_of(&pid, "pid"), ns_of("self", "pid"));
            }
        }
        ids
    }
}

#[test]
fn docker_swarm_service_runs_on_nsbox() {
    let d = Dockerd::start("docker-swarm", true);
    let out = d.docker(&["info", "--format", "{{.DefaultRuntime}} {{.RuncCommit.ID}}"]);
    // N/A: dockerd could not parse `nsbox --version` as runc's.
    assert_eq!(out.stdout.trim(), "nsbox", "{out:?}");
    let out = d.docker(&["swarm", "init", "--advertise-addr", ADVERTISE]);
    assert_eq!(out.code, 0, "swarm init: {out:?}\n{}", d.log());

    let name = "nsbox-test-svc";
    let out = d.docker(&[
        "service",
        "create",
        "--detach",
        "--no-resolve-image",
        "--name",
        name,
        "--replicas",
        "3",
        "--stop-grace-period",
        "1s",
        "--update-parallelism",
        "1",
        "--update-delay",
        "0s",
        IMAGE,
        "sleep",
        "100000",
    ]);
    assert_eq!(out.code, 0, "service create: {out:?}\n{}", d.log());
    let mut svc = Service {
        d: &d,
        name,
        seen: BTreeSet::new(),
    };
    svc.converge(3, "3 replicas on nsbox");

    d.docker(&["service", "scale", "--detach", &format!("{name}=5")])
        .success();
    svc.converge(5, "5 replicas on nsbox");
    d.docker(&["service", "scale", "--detach", &format!("{name}=1")])
        .success();
    let before = svc.converge(1, "1 replica on nsbox");

    // A rolling update: the task is replaced by one with the new env.
    d.docker(&[
        "service",
        "update",
        "--detach",
        "--env-add",
        "NSBOX_TEST=updated",
        name,
    ])
    .success();
    let after = wait_for(120, "the update to roll out", || {
        let ids = svc.converge(1, "1 updated replica on nsbox");
        let state = d.inspect(name, "{{.UpdateStatus.State}}");
        (ids != before && state == "completed").then_some(ids)
    });
    let id = after.iter().next().unwrap();
    assert!(
        d.inspect(id, "{{.Config.Env}}")
            .contains("NSBOX_TEST=updated"),
        "the new task has the new env"
    );
    assert!(
        svc.seen.len() >= 6,
        "every task seen ran on nsbox: {:?}",
        svc.seen
    );

    // service rm: its containers go, and with them nsbox's state.
    d.docker(&["service", "rm", name]).success();
    wait_for(120, "the service's containers to go", || {
        let label = format!("label=com.docker.swarm.service.name={name}");
        let all = d.docker(&["ps", "-aq", "--filter", &label]).stdout;
        (all.trim().is_empty() && d.nsbox_ids().is_empty()).then_some(())
    });
    d.docker(&["swarm", "leave", "--force"]).success();
    d.finish();
}
