//! Examples per verb, taken from the articles our users learn from (each
//! note says which command of theirs it replaces). One table feeds both
//! `nsbox VERB --help` (after the options) and the EXAMPLES section of the
//! verb's man page; a unit test parses every command with the real command
//! line, so an example cannot outlive a flag.

/// One example: what it does, then the command line.
pub struct Example {
    pub what: &'static str,
    pub command: &'static str,
}

const fn ex(what: &'static str, command: &'static str) -> Example {
    Example { what, command }
}

/// (verb path, its examples). The path is the words after `nsbox`
/// (`"netns"`, `"ns diff"`); `""` is `nsbox` itself.
pub const EXAMPLES: &[(&str, &[Example])] = &[
    ("", &[
        ex("Run ps isolated: it sees only itself, as PID 1", "nsbox run -- ps -ef"),
        ex("A shell in new PID and mount namespaces with its own /proc (instead of unshare --fork --pid --mount-proc bash)",
           "nsbox unshare --fork --pid --mount-proc bash"),
        ex("Every namespace on the machine and what holds it (instead of lsns)", "nsbox ns ls"),
        ex("A named network namespace, as ip netns add makes it", "nsbox netns add ns1"),
    ]),
    ("unshare", &[
        ex("A shell in new PID and mount namespaces, ps showing only its own processes (instead of unshare --fork --pid --mount-proc bash)",
           "nsbox unshare --fork --pid --mount-proc bash"),
        ex("A private mount namespace: mounts made in it never reach the parent's (instead of unshare -m /bin/bash)",
           "nsbox unshare -m /bin/bash"),
        ex("A mount namespace that stays a peer of the parent's: mounts on either side appear on both (instead of unshare --propagation shared -m /bin/bash)",
           "nsbox unshare --propagation shared -m /bin/bash"),
        ex("As an ordinary user: user and mount namespaces, yourself mapped to root (instead of unshare -Urm)",
           "nsbox unshare -Urm"),
        ex("Every namespace but the user's, with a small init as PID 1 that reaps orphans and passes signals on",
           "nsbox unshare -fpimnu --mount-proc --init sh"),
        ex("A network namespace kept alive on a file after the program ends (enter it with nsbox enter --net=FILE)",
           "nsbox unshare --net=/run/netns/blue true"),
    ]),
    ("enter", &[
        ex("A shell in the UTS, IPC and network namespaces of process 28580 (instead of nsenter --target 28580 --uts --ipc --net /bin/bash)",
           "nsbox enter --target 28580 --uts --ipc --net /bin/bash"),
        ex("The listening sockets of the running container web, with the host's ss",
           "nsbox enter -t web -n ss -tlnp"),
        ex("A command in the named network namespace ns1",
           "nsbox enter --net=/run/netns/ns1 ip addr"),
    ]),
    ("ns", &[
        ex("Every namespace: with processes, or held only by a bind mount, an fd or a socket (instead of lsns)", "nsbox ns ls"),
        ex("User namespaces with what they own, PID namespaces by parent (instead of lsns -T)", "nsbox ns tree"),
        ex("Which namespaces the containers test and same share (instead of readlink /proc/PID/ns/net for each)",
           "nsbox ns diff test same"),
    ]),
    ("ns ls", &[
        ex("Every namespace and its processes (instead of lsns)", "nsbox ns ls"),
        ex("Only network namespaces", "nsbox ns ls -t net"),
        ex("As JSON, the shape of lsns -J", "nsbox ns ls -J"),
    ]),
    ("ns tree", &[
        ex("User namespaces with the namespaces they own (instead of lsns -T)", "nsbox ns tree"),
    ]),
    ("ns diff", &[
        ex("Which namespaces two processes share: the inode numbers readlink /proc/PID/ns/KIND would show, side by side",
           "nsbox ns diff 6126 8221"),
        ex("Two containers, the second run with --net container:test: one network namespace, the rest their own",
           "nsbox ns diff test same"),
    ]),
    ("netns", &[
        ex("Show every named network namespace (instead of ip netns list)", "nsbox netns list"),
        ex("Create ns1, kept in /run/netns as ip netns add keeps it", "nsbox netns add ns1"),
        ex("Run a shell in ns1 (instead of ip netns exec ns1 bash)", "nsbox netns exec ns1 bash"),
        ex("The processes in ns1 (instead of ip netns pids ns1)", "nsbox netns pids ns1"),
        ex("The names of the network namespace process 28580 is in (instead of ip netns identify PID)",
           "nsbox netns identify 28580"),
        ex("Move the device v1 into ns1 (instead of ip link set dev v1 netns ns1)", "nsbox link set dev v1 netns ns1"),
        ex("Delete ns1 (instead of ip netns delete ns1)", "nsbox netns delete ns1"),
    ]),
    ("link", &[
        ex("A veth pair, two devices joined like a pipe (instead of ip link add name v1 type veth peer name v1_peer)",
           "nsbox link add v1 type veth peer name v1_peer"),
        ex("Put each end in its own network namespace", "nsbox link set dev v1 netns ns1"),
        ex("Bring v1 up inside ns1", "nsbox -n ns1 link set dev v1 up"),
        ex("A bridge, then v1 on it", "nsbox link add br0 type bridge"),
        ex("Every device, as ip -j -d link", "nsbox link list -j"),
    ]),
    ("addr", &[
        ex("An address on v1 inside ns1 (instead of ip netns exec ns1 ifconfig v1 192.168.1.1/24 up)",
           "nsbox -n ns1 addr add 192.168.1.1/24 dev v1"),
        ex("The addresses in ns1", "nsbox -n ns1 addr list"),
    ]),
    ("route", &[
        ex("A default route inside ns1", "nsbox -n ns1 route add default via 192.168.1.254"),
        ex("The routes of this network namespace", "nsbox route list"),
    ]),
    ("batch", &[
        ex("Run the link, addr, route and netns lines of setup.txt in one process (instead of ip -batch)",
           "nsbox batch setup.txt"),
    ]),
    ("run", &[
        ex("ps isolated: PID 1 in its own namespaces, the host's root read-only", "nsbox run -- ps -ef"),
        ex("A container left running, named test (instead of docker run -itd --name test alpine sh)",
           "nsbox run -d --name test -- sleep infinity"),
        ex("A second one in the network namespace of test (instead of docker run --net=container:test)",
           "nsbox run -d --name same --net container:test -- sleep infinity"),
        ex("Limited to 10 MB of memory (instead of docker run -m=10m)", "nsbox run -m 10m -- sh"),
        ex("A busybox root exported to the directory rootfs (docker export $(docker create busybox) | tar -C rootfs -x)",
           "nsbox run --rootfs rootfs -- sh"),
        ex("A web server on the bridge network, port 8080 of the host forwarded to its port 80",
           "nsbox run -d --name web -p 8080:80 -- httpd -f -p 80"),
        ex("An OCI bundle in the current directory, as runc run does", "nsbox run mycontainer"),
    ]),
    ("stop", &[
        ex("Stop the container test: SIGTERM, SIGKILL after 10 s (instead of docker stop test)", "nsbox stop test"),
    ]),
    ("rm", &[
        ex("Remove the stopped container test", "nsbox rm test"),
        ex("Kill and remove it (instead of docker rm -f test)", "nsbox rm -f test"),
    ]),
    ("ps", &[
        ex("The processes of the container test (instead of docker top test)", "nsbox ps test"),
    ]),
    ("list", &[
        ex("Every container: id, pid, status, bundle", "nsbox list"),
        ex("Only their ids", "nsbox list -q"),
    ]),
    ("exec", &[
        ex("A shell inside the container test, on a terminal (instead of docker exec -it test sh)", "nsbox exec -t test sh"),
    ]),
    ("spec", &[
        ex("Write a default config.json into the bundle directory mybundle", "nsbox spec --bundle mybundle"),
    ]),
    ("create", &[
        ex("Create a container from the bundle mybundle; its process waits for start", "nsbox create --bundle mybundle mycontainer"),
    ]),
    ("start", &[
        ex("Start the created container", "nsbox start mycontainer"),
    ]),
    ("state", &[
        ex("Its state, as JSON", "nsbox state mycontainer"),
    ]),
    ("kill", &[
        ex("Send it SIGKILL", "nsbox kill mycontainer KILL"),
    ]),
    ("delete", &[
        ex("Delete it, killing it first if it still runs", "nsbox delete --force mycontainer"),
    ]),
    ("proc-view", &[
        ex("Start the /proc view; containers started later see their own limits", "nsbox proc-view start"),
        ex("free inside a container limited to 64 MB and half a CPU reports those", "nsbox run -m 64m --cpus 0.5 -- free -m"),
    ]),
    ("completion", &[
        ex("Completion in this bash session (the Debian package installs it for every session)", "nsbox completion bash"),
        ex("For zsh: write the output to a file named _nsbox in a directory on $fpath", "nsbox completion zsh"),
        ex("For fish", "nsbox completion fish"),
    ]),
];

/// The examples of the verb at `path` ("" for nsbox itself).
pub fn of(path: &str) -> &'static [Example] {
    EXAMPLES
        .iter()
        .find(|(p, _)| *p == path)
        .map_or(&[], |(_, list)| list)
}

/// The examples as `--help` shows them after the options.
pub fn help_text(examples: &[Example]) -> String {
    let mut text = String::from("Examples:\n");
    for e in examples {
        text.push_str(&format!("  # {}\n  {}\n\n", e.what, e.command));
    }
    text.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::EXAMPLES;

    #[test]
    fn every_example_parses_with_the_real_command_line() {
        for (path, examples) in EXAMPLES {
            assert!(!examples.is_empty(), "{path:?}: an empty list");
            for e in *examples {
                let words: Vec<&str> = e.command.split_whitespace().collect();
                assert_eq!(words[0], "nsbox", "{}", e.command);
                if let Err(err) = crate::cli::command().try_get_matches_from(&words) {
                    panic!("example of {path:?} does not parse: {}\n{err}", e.command);
                }
            }
        }
    }

    #[test]
    fn every_path_names_a_verb() {
        let cmd = crate::cli::command();
        for (path, _) in EXAMPLES {
            let mut at = &cmd;
            for word in path.split_whitespace() {
                at = at
                    .find_subcommand(word)
                    .unwrap_or_else(|| panic!("examples for {path:?}: no such verb"));
            }
        }
    }
}
