//! Docker Swarm, the orchestrator Debian ships (docker.io 20.10), with nsbox
//! as dockerd's default runtime: `docker swarm init` on a private dockerd
//! (`engine_support::docker::Dockerd`, in network and mount namespaces of
//! its own, advertising the address of a veth inside them), a replicated
//! service scaled up and down, rolled to a new spec and removed; every task
//! container ran on nsbox, and nothing is left behind.

mod engine_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use engine_support::docker::{ns_of, Dockerd, ADVERTISE, IMAGE};
use engine_support::{wait_for, NSBOX};

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
    // dockerd parses `nsbox --version` as runc's: its `commit:` line is
    // what `docker info` shows as the runtime's commit (N/A: not parsed).
    let version = nsbox_testutil::run(NSBOX, ["--version"]).success().stdout;
    let commit = version
        .lines()
        .find_map(|l| l.strip_prefix("commit: "))
        .expect("commit: line");
    assert_eq!(out.stdout.trim(), format!("nsbox {commit}"), "{out:?}");
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
