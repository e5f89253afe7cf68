//! process.terminal: the container gets a pty; `run` proxies it, `create
//! --console-socket` hands its master to the engine.

mod oci_common;

use std::os::fd::AsFd;
use std::process::{Command, Stdio};

use oci_common::{base_config, Oci, NSBOX};

#[test]
fn run_proxies_the_containers_terminal() {
    let oci = Oci::new("oci-tty-run");
    let mut c = base_config(&["sh", "-c", "tty; ls -l /dev/console; echo hi; exit 4"]);
    c["process"]["terminal"] = true.into();
    oci.write_config(&c);
    let id = oci.id("tty");
    let out = oci.run(&id);
    assert_eq!(out.code, 4, "{out:?}");
    let o = out.stdout.replace('\r', "");
    assert!(o.starts_with("/dev/pts/0\n"), "{o}");
    assert!(o.contains("136,   0 "), "/dev/console is the pty: {o}");
    assert!(o.contains("hi\n"), "{o}");
}

#[test]
fn create_sends_the_pty_master_to_the_console_socket() {
    let oci = Oci::new("oci-tty-sock");
    let mut c = base_config(&["sh", "-c", "echo size=$(stty size)"]);
    c["process"]["terminal"] = true.into();
    c["process"]["consoleSize"] = serde_json::json!({"height": 33, "width": 101});
    oci.write_config(&c);
    let id = oci.id("sock");
    let sock = oci.dir.join("console.sock");
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let create = Command::new(NSBOX)
        .arg("--root")
        .arg(&oci.root)
        .args(["create", "--bundle"])
        .arg(&oci.bundle)
        .arg("--console-socket")
        .arg(&sock)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (stream, _) = listener.accept().unwrap();
    let master = nsbox_runtime::console::recv_fd(stream.as_fd()).unwrap();
    let done = create.wait_with_output().unwrap();
    assert!(done.status.success(), "{done:?}");
    oci.nsbox(&["start", &id]).success();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while let Ok(n @ 1..) = rustix::io::read(&master, &mut buf) {
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).replace('\r', "");
    assert_eq!(text, "size=33 101\n");
}

#[test]
fn terminal_without_console_socket_is_refused_when_detached() {
    let oci = Oci::new("oci-tty-refuse");
    let mut c = base_config(&["true"]);
    c["process"]["terminal"] = true.into();
    oci.write_config(&c);
    let id = oci.id("refuse");
    let out = oci.create(&id);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr.trim(),
        format!(
            "nsbox: create {id}: config.json: process.terminal: true needs --console-socket (or run without --detach)"
        )
    );
    assert!(!oci.state_dir(&id).exists());
}
