//! Docker (Debian's docker.io, dockerd 20.10) with nsbox registered as a
//! runtime in daemon.json: `docker run --runtime nsbox` makes dockerd's
//! containerd shim (`io.containerd.runc.v2`) call nsbox exactly as it calls
//! runc (create with --pid-file and --console-socket, start, exec, kill,
//! pause, resume, delete, state). Each test has a private dockerd in its
//! own network and mount namespaces (`engine_support::docker::Dockerd`,
//! which also says how it is isolated and torn down); the image is
//! `docker import` of a busybox tarball. Checks are what a user sees:
//! output, exit codes, `docker inspect`, files in /proc and the cgroup
//! tree, nsbox's own state (`nsbox --root R list`).

mod engine_support;

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use engine_support::docker::{
    host_links, ns_of, status_field, Dockerd, DOCKER_CLI, IMAGE, NOFILE, NPROC,
};
use engine_support::{alive, on_pty, run_timed, wait_for};

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
    // State.ExitCode is right either way.) nsbox words an exec failure's
    // errno as runc does (`exec "/no/such/program": no such file or
    // directory`), so the CLI's exit codes are runc's.
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
