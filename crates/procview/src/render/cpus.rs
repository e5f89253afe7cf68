//! How many CPUs a cgroup should use, and the files that say so:
//! `/proc/cpuinfo` (that many processor blocks, numbered from 0) and
//! `/sys/devices/system/cpu/online` (`0-(n-1)`).

/// The CPUs a cgroup may run on and its bandwidth limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cpus {
    /// The host CPU numbers of its cpuset, ascending.
    pub cpuset: Vec<u32>,
    /// The smallest `quota / period` (microseconds) from the cgroup up to
    /// its hierarchy's root; `None` when no quota is set.
    pub quota: Option<(u64, u64)>,
}

impl Cpus {
    /// The count a program should use: the cpuset's size, narrowed by the
    /// quota rounded up (0.5 CPU is 1), never 0.
    pub fn count(&self) -> usize {
        let set = self.cpuset.len().max(1);
        match self.quota {
            Some((quota, period)) if period > 0 => {
                let by_quota = quota.div_ceil(period).max(1);
                set.min(usize::try_from(by_quota).unwrap_or(usize::MAX))
            }
            _ => set,
        }
    }

    /// The host CPUs shown, in the cpuset's order: its first `count()`.
    pub fn visible(&self) -> &[u32] {
        &self.cpuset[..self.count().min(self.cpuset.len())]
    }
}

/// A kernel CPU list (`0-3,6,8-9`), as in `cpuset.cpus` and `online`.
pub fn parse_list(text: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if a > b {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

/// `/sys/devices/system/cpu/online`: `0` or `0-(n-1)`.
pub fn online(n: usize) -> String {
    match n {
        0 | 1 => "0\n".to_owned(),
        n => format!("0-{}\n", n - 1),
    }
}

/// The host's `cpuinfo` with only the blocks of `visible` host CPUs, each
/// renumbered in order from 0. A text without `processor` blocks (some
/// architectures print one block for all) is returned unchanged.
pub fn cpuinfo(host: &str, visible: &[u32]) -> String {
    let blocks: Vec<&str> = host
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
        .collect();
    let number = |b: &str| -> Option<u32> {
        let l = b.lines().find(|l| l.starts_with("processor"))?;
        l.split_once(':')?.1.trim().parse().ok()
    };
    if blocks.iter().any(|b| number(b).is_none()) {
        return host.to_owned();
    }
    let mut out = String::with_capacity(host.len());
    let mut next = 0;
    for b in blocks {
        if !number(b).is_some_and(|n| visible.contains(&n)) {
            continue;
        }
        for l in b.lines() {
            if l.starts_with("processor") {
                out.push_str(&format!("processor\t: {next}"));
            } else {
                out.push_str(l);
            }
            out.push('\n');
        }
        out.push('\n');
        next += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: A\n\nprocessor\t: 1\nvendor_id\t: GenuineIntel\nmodel name\t: B\n\nprocessor\t: 2\nmodel name\t: C\n\n";

    #[test]
    fn count_is_cpuset_narrowed_by_quota_rounded_up() {
        let all = |quota| Cpus {
            cpuset: vec![0, 1, 2, 3],
            quota,
        };
        assert_eq!(all(None).count(), 4);
        assert_eq!(all(Some((50_000, 100_000))).count(), 1);
        assert_eq!(all(Some((150_000, 100_000))).count(), 2);
        assert_eq!(all(Some((800_000, 100_000))).count(), 4);
        assert_eq!(all(Some((1, 100_000))).visible(), [0]);
        let set = Cpus {
            cpuset: vec![1, 3],
            quota: None,
        };
        assert_eq!(set.visible(), [1, 3]);
    }

    #[test]
    fn lists_parse_as_the_kernel_writes_them() {
        assert_eq!(parse_list("0-3,6,8-9\n"), Some(vec![0, 1, 2, 3, 6, 8, 9]));
        assert_eq!(parse_list("1\n"), Some(vec![1]));
        assert_eq!(parse_list("\n"), Some(vec![]));
        assert_eq!(parse_list("3-1"), None);
        assert_eq!(parse_list("x"), None);
    }

    #[test]
    fn online_names_the_range() {
        assert_eq!(online(1), "0\n");
        assert_eq!(online(4), "0-3\n");
    }

    #[test]
    fn cpuinfo_keeps_visible_blocks_renumbered() {
        let out = cpuinfo(HOST, &[1, 2]);
        assert_eq!(out.matches("processor").count(), 2);
        assert!(out.starts_with("processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: B\n\n"));
        assert!(out.contains("processor\t: 1\nmodel name\t: C\n"));
        assert_eq!(cpuinfo(HOST, &[0, 1, 2]), HOST);
        let odd = "Processor: ARM\nfeatures: x\n";
        assert_eq!(cpuinfo(odd, &[0]), odd);
    }
}
