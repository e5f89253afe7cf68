//! `/proc/swaps` for a cgroup: one `none virtual` line with its swap limit
//! and use (LXCFS's form), or none when it may not swap; the host's file for
//! a cgroup that sees the host's memory.

use super::meminfo::{is_limited, swap, Memory};

/// `host` is the host's `swaps`, `meminfo` the host's `meminfo`.
pub fn render(host: &str, meminfo: &str, m: &Memory) -> String {
    if !is_limited(meminfo, m) {
        return host.to_owned();
    }
    let header = host
        .lines()
        .next()
        .unwrap_or("Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority");
    let mut out = format!("{header}\n");
    if let Some((total, free)) = swap(meminfo, m).filter(|(t, _)| *t > 0) {
        out.push_str(&format!(
            "none\t\t\t\t\tvirtual\t\t{total}\t\t{}\t\t0\n",
            total - free
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
    const MEMINFO: &str = "MemTotal:       1000000 kB\nSwapTotal:       500000 kB\n";

    fn mem(limit: u64, swap_limit: Option<u64>) -> Memory {
        Memory {
            limit,
            swap_limit,
            swap_usage: 1 << 20,
            ..Memory::default()
        }
    }

    #[test]
    fn a_limited_cgroup_sees_its_swap() {
        let host = format!("{HEADER}/dev/sda2  partition\t500000\t0\t-2\n");
        let out = render(&host, MEMINFO, &mem(64 << 20, Some(32 << 20)));
        assert_eq!(
            out,
            format!("{HEADER}none\t\t\t\t\tvirtual\t\t32768\t\t1024\t\t0\n")
        );
        // No swap allowed, or none accounted: the header only.
        assert_eq!(render(&host, MEMINFO, &mem(64 << 20, Some(0))), HEADER);
        assert_eq!(render(&host, MEMINFO, &mem(64 << 20, None)), HEADER);
        // Unlimited: the host's.
        assert_eq!(render(&host, MEMINFO, &mem(u64::MAX, None)), host);
    }
}
