//! CNI, as the specification (1.0) has a runtime call plugins: the
//! network configuration list named NAME is found in the configuration
//! directories (`*.conflist`, or a single plugin's `*.conf`); each plugin
//! is the executable of its `type` in the plugin directories, run with the
//! `CNI_*` environment and its configuration on stdin (`name`,
//! `cniVersion`, the previous plugin's result as `prevResult`, and the
//! `runtimeConfig` of the capabilities it declares: `portMappings`); it
//! answers with a result or an error object on stdout. ADD runs the
//! plugins in order, DEL in reverse with the ADD's result, CHECK in order.
//! How Kubernetes networks a pod, with the same plugins.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::firewall::PortMap;
use crate::Error;

/// Where configurations and plugins are by default (libcni's and Debian's).
pub const CONF_DIRS: &[&str] = &["/etc/cni/net.d"];
pub const PLUGIN_DIRS: &[&str] = &["/opt/cni/bin", "/usr/lib/cni"];

/// A network configuration list, as found.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NetConf {
    pub name: String,
    #[serde(rename = "cniVersion")]
    pub cni_version: String,
    pub plugins: Vec<Value>,
    /// The file it came from.
    #[serde(default)]
    pub source: PathBuf,
}

/// What a plugin is told about the container.
#[derive(Debug, Clone)]
pub struct Attachment<'a> {
    pub container_id: &'a str,
    /// The network namespace file.
    pub netns: &'a Path,
    pub ifname: &'a str,
    pub plugin_dirs: &'a [PathBuf],
    /// `-p`, given to plugins with the `portMappings` capability.
    pub ports: &'a [PortMap],
}

/// The configuration list named `name` in `dirs` (files in name order,
/// the first whose `name` matches, as libcni picks).
pub fn find(dirs: &[PathBuf], name: &str) -> Result<NetConf, Error> {
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("conflist" | "conf" | "json")
            )
        })
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read(&file).map_err(|e| Error::io("read", &file, e))?;
        let Ok(v) = serde_json::from_slice::<Value>(&text) else {
            continue; // not ours to judge: libcni skips what it cannot load
        };
        if v["name"] != name {
            continue;
        }
        let bad = |why: &str| Error::CniConf {
            path: file.clone(),
            why: why.to_owned(),
        };
        let cni_version = v["cniVersion"]
            .as_str()
            .ok_or_else(|| bad("no cniVersion"))?
            .to_owned();
        let plugins = match v.get("plugins") {
            Some(Value::Array(p)) if !p.is_empty() => p.clone(),
            Some(_) => return Err(bad("plugins must be a non-empty list")),
            None => vec![v.clone()], // a single plugin's .conf
        };
        if let Some(i) = plugins.iter().position(|p| !p["type"].is_string()) {
            return Err(bad(&format!("plugins[{i}] has no type")));
        }
        return Ok(NetConf {
            name: name.to_owned(),
            cni_version,
            plugins,
            source: file,
        });
    }
    Err(Error::NoCniNetwork {
        name: name.to_owned(),
        dirs: dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// ADD: every plugin in order, each given the previous one's result;
/// returns the last result. If one fails, DEL runs for all of them (the
/// specification's cleanup) and the failure is returned.
pub fn add(conf: &NetConf, at: &Attachment<'_>) -> Result<Value, Error> {
    let mut prev: Option<Value> = None;
    for plugin in &conf.plugins {
        match call(conf, plugin, "ADD", at, prev.as_ref()) {
            Ok(result) => prev = result.or(prev),
            Err(e) => {
                let _ = del(conf, at, prev.as_ref());
                return Err(e);
            }
        }
    }
    Ok(prev.unwrap_or_else(|| json!({"cniVersion": conf.cni_version})))
}

/// DEL: every plugin in reverse order with the ADD's result; all are
/// called, the first failure is returned.
pub fn del(conf: &NetConf, at: &Attachment<'_>, result: Option<&Value>) -> Result<(), Error> {
    let mut first = None;
    for plugin in conf.plugins.iter().rev() {
        if let Err(e) = call(conf, plugin, "DEL", at, result) {
            first.get_or_insert(e);
        }
    }
    first.map_or(Ok(()), Err)
}

/// CHECK: every plugin in order with the ADD's result.
pub fn check(conf: &NetConf, at: &Attachment<'_>, result: &Value) -> Result<(), Error> {
    for plugin in &conf.plugins {
        call(conf, plugin, "CHECK", at, Some(result))?;
    }
    Ok(())
}

/// The IPv4 addresses of a result (`ips[].address`, without the prefix).
pub fn addresses(result: &Value) -> Vec<std::net::Ipv4Addr> {
    result["ips"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|ip| ip["address"].as_str()?.split('/').next()?.parse().ok())
        .collect()
}

/// One plugin call; its result, if it printed one.
fn call(
    conf: &NetConf,
    plugin: &Value,
    command: &str,
    at: &Attachment<'_>,
    prev: Option<&Value>,
) -> Result<Option<Value>, Error> {
    let typ = plugin["type"].as_str().expect("checked by find");
    let exe = at
        .plugin_dirs
        .iter()
        .map(|d| d.join(typ))
        .find(|p| p.is_file())
        .ok_or_else(|| Error::NoCniPlugin {
            plugin: typ.to_owned(),
            dirs: at
                .plugin_dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(":"),
        })?;
    let mut stdin = plugin.clone();
    stdin["name"] = json!(conf.name);
    stdin["cniVersion"] = json!(conf.cni_version);
    if let Some(prev) = prev {
        stdin["prevResult"] = prev.clone();
    }
    if plugin["capabilities"]["portMappings"] == true && !at.ports.is_empty() {
        stdin["runtimeConfig"]["portMappings"] = at
            .ports
            .iter()
            .map(|p| {
                json!({
                    "hostPort": p.host_port,
                    "containerPort": p.container_port,
                    "protocol": p.proto_word(),
                    "hostIP": p.host_ip.map(|ip| ip.to_string()).unwrap_or_default(),
                })
            })
            .collect::<Value>();
    }
    let path = at
        .plugin_dirs
        .iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let failed = |why: String| Error::CniPlugin {
        plugin: typ.to_owned(),
        command: command.to_owned(),
        why,
    };
    let mut child = Command::new(&exe)
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", at.container_id)
        .env("CNI_NETNS", at.netns)
        .env("CNI_IFNAME", at.ifname)
        .env("CNI_PATH", &path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("run {}: {e}", exe.display())))?;
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(stdin.to_string().as_bytes())
        .map_err(|e| failed(format!("write its configuration: {e}")))?;
    let out = child
        .wait_with_output()
        .map_err(|e| failed(format!("wait: {e}")))?;
    let answer: Option<Value> = serde_json::from_slice(&out.stdout).ok();
    if !out.status.success() {
        // the specification's error object, else what it said on stderr
        let why = match &answer {
            Some(e) if e["msg"].is_string() => {
                let mut why = format!("{} (code {})", e["msg"].as_str().unwrap_or(""), e["code"]);
                if let Some(d) = e["details"].as_str().filter(|d| !d.is_empty()) {
                    why.push_str(&format!(": {d}"));
                }
                why
            }
            _ => format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        };
        return Err(failed(why));
    }
    Ok(answer.filter(|_| command == "ADD"))
}
