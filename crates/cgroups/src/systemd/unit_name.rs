//! systemd's names for a container's cgroup: the `slice:prefix:name`
//! cgroups path engines pass with `--systemd-cgroup` (runc's form), the
//! unit it becomes (`prefix-name.scope`, or the slice itself when `name`
//! is one), and where a slice lives in the cgroup tree: systemd nests a
//! slice in the slices its dashes name, so `a-b-c.slice` is
//! `a.slice/a-b.slice/a-b-c.slice`.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A parsed `slice:prefix:name`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitPath {
    /// The parent slice, e.g. `system.slice`.
    pub slice: String,
    /// The unit: `prefix-name.scope`, `name.scope` without a prefix, or
    /// `name` itself when it is a slice (kubelet makes pod slices so).
    pub unit: String,
}

impl UnitPath {
    /// Parses `path` (`slice:prefix:name`; an empty slice is
    /// `default_slice`); `None` or an empty path is `default_slice`,
    /// prefix `nsbox`, the container id as name, as runc does.
    pub fn parse(path: Option<&str>, default_slice: &str, id: &str) -> Result<UnitPath> {
        let raw = path.filter(|p| !p.is_empty());
        let (slice, prefix, name) = match raw {
            None => ("", "nsbox", id),
            Some(p) => match p.split(':').collect::<Vec<_>>()[..] {
                [slice, prefix, name] => (slice, prefix, name),
                _ => {
                    return Err(Error::InvalidPath {
                        path: p.to_owned(),
                        reason: "a systemd cgroups path is slice:prefix:name",
                    })
                }
            },
        };
        let invalid = |reason| Error::InvalidPath {
            path: raw.unwrap_or(id).to_owned(),
            reason,
        };
        let slice = if slice.is_empty() {
            default_slice
        } else {
            slice
        };
        if !slice.ends_with(".slice") {
            return Err(invalid("the slice's name must end in .slice"));
        }
        expand_slice(slice).ok_or_else(|| invalid("not a valid slice name"))?;
        if name.is_empty() {
            return Err(invalid("the unit name is empty"));
        }
        let unit = if name.ends_with(".slice") {
            expand_slice(name).ok_or_else(|| invalid("not a valid slice name"))?;
            name.to_owned()
        } else if prefix.is_empty() {
            format!("{name}.scope")
        } else {
            format!("{prefix}-{name}.scope")
        };
        if !valid_unit_name(&unit) {
            return Err(invalid("not a valid systemd unit name"));
        }
        Ok(UnitPath {
            slice: slice.to_owned(),
            unit,
        })
    }

    /// True when the unit is a slice of its own (no process inside).
    pub fn is_slice(&self) -> bool {
        self.unit.ends_with(".slice")
    }

    /// The unit's cgroup relative to its manager's root cgroup:
    /// `system.slice/nsbox-x.scope`, `kubepods.slice/kubepods-pod1.slice/...`.
    pub fn cgroup(&self) -> String {
        let slice = expand_slice(&self.slice).expect("validated by parse");
        if slice.is_empty() {
            self.unit.clone()
        } else {
            format!("{slice}/{}", self.unit)
        }
    }
}

/// The cgroup path of slice `name` relative to the root: every dash-joined
/// prefix is a parent slice; `-.slice` is the root itself (an empty path).
/// `None` for a name systemd would refuse.
pub fn expand_slice(name: &str) -> Option<String> {
    let base = name.strip_suffix(".slice")?;
    if base == "-" {
        return Some(String::new());
    }
    if base.is_empty() || base.contains('/') || base.starts_with('-') || base.ends_with('-') {
        return None;
    }
    let mut out = String::new();
    let mut prefix = String::new();
    for (i, part) in base.split('-').enumerate() {
        if part.is_empty() {
            return None; // "a--b"
        }
        if i > 0 {
            prefix.push('-');
            out.push('/');
        }
        prefix.push_str(part);
        out.push_str(&prefix);
        out.push_str(".slice");
    }
    Some(out)
}

/// systemd's rule for unit names: at most 255 bytes of ASCII letters,
/// digits and `:-_.\`, a dot before the type (and `@` for templates,
/// which a container's unit is not).
fn valid_unit_name(unit: &str) -> bool {
    unit.len() <= 255
        && unit.contains('.')
        && unit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.\\".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_nest_by_their_dashes() {
        assert_eq!(expand_slice("system.slice").unwrap(), "system.slice");
        assert_eq!(
            expand_slice("a-b-c.slice").unwrap(),
            "a.slice/a-b.slice/a-b-c.slice"
        );
        assert_eq!(
            expand_slice("kubepods-burstable-pod1234.slice").unwrap(),
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice"
        );
        assert_eq!(expand_slice("-.slice").unwrap(), "");
        for bad in [
            "a--b.slice",
            "-a.slice",
            "a-.slice",
            "a/b.slice",
            ".slice",
            "a.scope",
        ] {
            assert!(expand_slice(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_pod_shaped_path_is_a_scope_in_the_pods_slice() {
        let p = UnitPath::parse(
            Some("kubepods-burstable-pod1234.slice:cri-containerd:abc"),
            "system.slice",
            "id",
        )
        .unwrap();
        assert_eq!(p.slice, "kubepods-burstable-pod1234.slice");
        assert_eq!(p.unit, "cri-containerd-abc.scope");
        assert_eq!(
            p.cgroup(),
            "kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-abc.scope"
        );
        assert!(!p.is_slice());
    }

    #[test]
    fn defaults_and_short_forms() {
        let p = UnitPath::parse(None, "system.slice", "web").unwrap();
        assert_eq!(
            (p.slice.as_str(), p.unit.as_str()),
            ("system.slice", "nsbox-web.scope")
        );
        let p = UnitPath::parse(Some(":libpod:x"), "user.slice", "id").unwrap();
        assert_eq!(p.cgroup(), "user.slice/libpod-x.scope");
        let p = UnitPath::parse(Some("machine.slice::x"), "system.slice", "id").unwrap();
        assert_eq!(p.unit, "x.scope");
        let p = UnitPath::parse(Some("-.slice:p:x"), "system.slice", "id").unwrap();
        assert_eq!(p.cgroup(), "p-x.scope");
        let p = UnitPath::parse(
            Some("kubepods.slice::kubepods-pod9.slice"),
            "system.slice",
            "id",
        )
        .unwrap();
        assert!(p.is_slice());
        assert_eq!(p.cgroup(), "kubepods.slice/kubepods-pod9.slice");
    }

    #[test]
    fn bad_paths_say_why() {
        let e = UnitPath::parse(Some("a:b"), "system.slice", "id").unwrap_err();
        assert_eq!(
            e.to_string(),
            "cgroups path \"a:b\": a systemd cgroups path is slice:prefix:name"
        );
        let e = UnitPath::parse(Some("machine:p:x"), "system.slice", "id").unwrap_err();
        assert!(
            e.to_string()
                .ends_with("the slice's name must end in .slice"),
            "{e}"
        );
        let e = UnitPath::parse(Some("a--b.slice:p:x"), "system.slice", "id").unwrap_err();
        assert!(e.to_string().ends_with("not a valid slice name"), "{e}");
        let e = UnitPath::parse(Some("system.slice:p:"), "system.slice", "id").unwrap_err();
        assert!(e.to_string().ends_with("the unit name is empty"), "{e}");
        let e = UnitPath::parse(Some("system.slice:p:a b"), "system.slice", "id").unwrap_err();
        assert!(
            e.to_string().ends_with("not a valid systemd unit name"),
            "{e}"
        );
    }
}
