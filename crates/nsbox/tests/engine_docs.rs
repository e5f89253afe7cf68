//! docs/engines.md shows each file of docs/engines/ verbatim (the engine
//! tests read those files, so the page is what they run), every snippet
//! parses, names the binary where the Debian package installs it, and the
//! Kubernetes RuntimeClass names the handler the containerd test uses.
//! CRI-O and Kubernetes cannot run here: this is what is checked of them.

mod engine_support;

use engine_support::snippets::{self, PACKAGED_NSBOX};

fn page() -> String {
    let path = snippets::dir().join("../engines.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The fenced code blocks of the page, without their fences.
fn code_blocks(page: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in page.lines() {
        if line.starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some(String::new()),
            }
        } else if let Some(block) = current.as_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    assert!(
        current.is_none(),
        "an unclosed code block in docs/engines.md"
    );
    blocks
}

#[test]
fn the_page_shows_every_snippet_file_verbatim() {
    let blocks = code_blocks(&page());
    let mut files: Vec<String> = std::fs::read_dir(snippets::dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 7, "{files:?}");
    for name in &files {
        let text = snippets::raw(name);
        assert!(
            blocks.contains(&text),
            "docs/engines.md does not show docs/engines/{name} as it is:\n{text}"
        );
    }
    // and shows no configuration that is not a file the tests can read
    assert_eq!(blocks.len(), files.len(), "code blocks: {blocks:#?}");
}

#[test]
fn snippets_parse_and_name_the_packaged_binary() {
    for name in ["docker-daemon.json", "docker-daemon-default.json"] {
        let v: serde_json::Value = serde_json::from_str(&snippets::raw(name)).unwrap();
        assert_eq!(v["runtimes"]["nsbox"]["path"], PACKAGED_NSBOX, "{name}");
    }
    let v: serde_json::Value =
        serde_json::from_str(&snippets::raw("docker-daemon-default.json")).unwrap();
    assert_eq!(v["default-runtime"], "nsbox");

    let podman: toml::Table = snippets::raw("podman-containers.conf").parse().unwrap();
    let engine = podman["engine"].as_table().unwrap();
    assert_eq!(
        engine["runtimes"]["nsbox"][0].as_str(),
        Some(PACKAGED_NSBOX)
    );
    let json = engine["runtime_supports_json"].as_array().unwrap();
    assert!(json.iter().any(|r| r.as_str() == Some("nsbox")), "{json:?}");

    let crio: toml::Table = snippets::raw("crio-runtime.conf").parse().unwrap();
    let nsbox = &crio["crio"]["runtime"]["runtimes"]["nsbox"];
    assert_eq!(nsbox["runtime_path"].as_str(), Some(PACKAGED_NSBOX));
    assert_eq!(nsbox["runtime_type"].as_str(), Some("oci"));
    assert_eq!(nsbox["runtime_root"].as_str(), Some("/run/nsbox"));
}

/// `key: value` at the top level of a small YAML file.
fn yaml_field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .map(|v| v.trim().to_string())
}

#[test]
fn the_runtime_class_names_the_containerd_handler_the_tests_use() {
    let class = snippets::raw("kubernetes-runtimeclass.yaml");
    assert_eq!(
        yaml_field(&class, "apiVersion").as_deref(),
        Some("node.k8s.io/v1")
    );
    assert_eq!(yaml_field(&class, "kind").as_deref(), Some("RuntimeClass"));
    let handler = yaml_field(&class, "handler").expect("handler:");

    let containerd: toml::Table = snippets::raw("containerd-config.toml").parse().unwrap();
    assert_eq!(containerd["version"].as_integer(), Some(2));
    let runtimes = containerd["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
        .as_table()
        .unwrap();
    let h = runtimes
        .get(&handler)
        .unwrap_or_else(|| panic!("no containerd handler {handler}: {runtimes:?}"));
    assert_eq!(h["runtime_type"].as_str(), Some("io.containerd.runc.v2"));
    assert_eq!(h["options"]["BinaryName"].as_str(), Some(PACKAGED_NSBOX));
    // nsbox places containers with cgroupfs: the shim must not ask for systemd's.
    assert_eq!(h["options"]["SystemdCgroup"].as_bool(), Some(false));

    let crio: toml::Table = snippets::raw("crio-runtime.conf").parse().unwrap();
    assert!(crio["crio"]["runtime"]["runtimes"].get(&handler).is_some());

    // The pod asks for the class by its name.
    let class_name = yaml_field(&class, "  name").expect("metadata name");
    let pod = snippets::raw("kubernetes-pod.yaml");
    assert!(
        pod.contains(&format!("  runtimeClassName: {class_name}\n")),
        "{pod}"
    );
}
