//! A private dockerd (Debian's docker.io, 20.10) with nsbox registered as
//! runtime `nsbox` in its daemon.json (and as the default one for Swarm),
//! for engine_docker.rs and engine_swarm.rs: the documented snippets
//! (docs/engines/docker-daemon.json, docker-daemon-default.json) merged
//! into the daemon's own settings below.
//!
//! Each test starts its own [`Dockerd`], isolated from the host:
//! - in a network namespace and a mount namespace of its own (util-linux
//!   `unshare --net --mount`): docker0, the user networks' bridges, veths,
//!   iptables rules and published ports (docker-proxy) exist only there, and
//!   every mount dockerd, containerd and the shims make (overlay2 layers,
//!   netns files) stays there and is gone when its last process dies;
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
//! (containers, thawed first), then the cgroups. The namespaces are held
//! open meanwhile: a freed namespace's inode number comes back for new ones
//! (another test's containers), which must not be taken for ours. A test
//! that reaches its end also asserts that nothing is left on the host
//! ([`Dockerd::finish`]).
//!
//! The image is `docker import` of a busybox tarball (no network). The
//! docker CLI is Debian's /usr/bin/docker (another one may come first on
//! PATH), pointed at the daemon with `-H unix://SOCKET --config DIR`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nsbox_testutil::{Output, TempDir};

use super::{
    alive, busybox_tarball, cgroup_dirs, cgroup_parent, cgroup_pids, kill_all, pids_in_ns,
    remove_cgroup, require_tool, run_timed, scratch, snippets, thaw_cgroup, wait_for, NSBOX,
};

pub const IMAGE: &str = "nsbox-test-busybox:latest";
/// Debian's docker CLI, from the same package as dockerd.
pub const DOCKER_CLI: &str = "/usr/bin/docker";
/// Limits given to containers through `default-ulimits`.
pub const NOFILE: u64 = 1024;
pub const NPROC: u64 = 4096;
/// The address of the dockerd network namespace's own interface (a veth
/// pair inside it), for `docker swarm init --advertise-addr`: TEST-NET-1,
/// never routed.
pub const ADVERTISE: &str = "192.0.2.1";

/// What the host looked like before the daemon started, to compare with
/// after it is gone.
pub struct HostView {
    pub links: BTreeSet<String>,
    docker_rules: Vec<String>,
    run_docker: bool,
    run_containerd: bool,
    etc_key: bool,
}

impl HostView {
    pub fn now() -> HostView {
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
pub fn host_links() -> BTreeSet<String> {
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

pub struct Dockerd {
    pub dir: TempDir,
    docker: PathBuf,
    daemon: Child,
    /// The daemon's mount and network namespaces: their names
    /// (`mnt:[INODE]`) and open files that pin them, so that no namespace
    /// made later (another test's container) gets the same inode while we
    /// look for processes by it.
    mnt_ns: String,
    net_ns: String,
    ns_pins: Vec<fs::File>,
    pub cgroup_parent: String,
    pub host: HostView,
    pub storage: &'static str,
    swarm: bool,
    torn_down: bool,
}

impl Dockerd {
    /// A private dockerd with nsbox registered as runtime `nsbox` (and the
    /// default one when `swarm`), the busybox image imported.
    pub fn start(tag: &str, swarm: bool) -> Dockerd {
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
            "default-ulimits": {
                "nofile": {"Name": "nofile", "Hard": NOFILE, "Soft": NOFILE},
                "nproc": {"Name": "nproc", "Hard": NPROC, "Soft": NPROC}
            },
            "shutdown-timeout": 1,
            "log-level": "info"
        });
        // nsbox as docs/engines.md registers it.
        let snippet = if swarm {
            "docker-daemon-default.json"
        } else {
            "docker-daemon.json"
        };
        snippets::merge_json(&mut config, snippet);
        assert_eq!(config["runtimes"]["nsbox"]["path"], NSBOX, "{snippet}");
        assert_eq!(config["default-runtime"] == "nsbox", swarm, "{snippet}");
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
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.docker);
        c.args(self.cli_flags());
        c
    }

    pub fn cli_flags(&self) -> Vec<String> {
        vec![
            "--config".into(),
            self.dir.join("cli").display().to_string(),
            "-H".into(),
            format!("unix://{}", self.dir.join("docker.sock").display()),
        ]
    }

    pub fn try_docker(&self, args: &[&str], secs: u64) -> Output {
        run_timed(self.command().args(args), None, secs, self.dir.path())
    }

    /// `docker ARGS...` with a deadline.
    pub fn docker(&self, args: &[&str]) -> Output {
        self.try_docker(args, 120)
    }

    /// `docker run --runtime nsbox ARGS...`
    pub fn run(&self, args: &[&str]) -> Output {
        let mut all = vec!["run", "--runtime", "nsbox"];
        all.extend_from_slice(args);
        self.docker(&all)
    }

    pub fn inspect(&self, name: &str, format: &str) -> String {
        let out = self.docker(&["inspect", "--format", format, name]);
        assert_eq!(out.code, 0, "docker inspect {name}: {out:?}");
        out.stdout.trim().to_string()
    }

    /// The pid dockerd's process has (unshare exec'd it).
    pub fn pid(&self) -> u32 {
        self.daemon.id()
    }

    /// nsbox's --root as dockerd's shim passes it: the shim's runc root
    /// (`EXEC-ROOT/runtime-runc`, the same for every runtime in Docker
    /// 20.10) and the containerd namespace `moby`.
    pub fn nsbox_root(&self) -> PathBuf {
        self.dir.join("exec/runtime-runc/moby")
    }

    /// Container ids in nsbox's state (`nsbox --root R list --quiet`).
    pub fn nsbox_ids(&self) -> BTreeSet<String> {
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
    pub fn daemon_mounts(&self) -> String {
        fs::read_to_string(format!("/proc/{}/mountinfo", self.pid())).unwrap()
    }

    /// `nsenter --net=DOCKERD'S NETNS PROG ARGS...`: a host program on the
    /// daemon's network (where its published ports listen).
    pub fn in_daemon_netns(&self, prog: &str, args: &[&str]) -> Output {
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

    pub fn log(&self) -> String {
        let log = fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default();
        // The end is what matters; the start is plugin loading.
        let tail: Vec<&str> = log.lines().rev().take(60).collect();
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// The container cgroup directories of `id` (one per hierarchy).
    pub fn container_cgroups(&self, id: &str) -> Vec<PathBuf> {
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
    pub fn finish(mut self) {
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
pub fn ns_of(pid: &str, kind: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

/// A value of /proc/PID/status.
pub fn status_field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("{key} not in {text}"))
        .trim()
        .to_string()
}
