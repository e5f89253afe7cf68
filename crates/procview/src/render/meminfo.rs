//! `/proc/meminfo` for a cgroup: MemTotal is its memory limit, the memory
//! lines come from its own counters, SwapTotal/SwapFree from its swap limit;
//! every other line is the host's. A cgroup without a limit below the host's
//! memory sees the host's file unchanged.

use super::field;

/// A cgroup's memory, in bytes, as the reader's cgroup reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// The smallest memory limit from the cgroup up to its hierarchy's root;
    /// `u64::MAX` when none is set.
    pub limit: u64,
    /// Memory in use (v1 `memory.usage_in_bytes`, v2 `memory.current`).
    pub usage: u64,
    /// The smallest swap limit (swap alone, not memory+swap), `None` when the
    /// kernel accounts no swap for the cgroup.
    pub swap_limit: Option<u64>,
    /// Swap in use.
    pub swap_usage: u64,
    pub counters: Counters,
}

/// memory.stat counters (v1's `total_*`, v2's names), in bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    pub anon: u64,
    pub file: u64,
    pub shmem: u64,
    pub mapped: u64,
    pub active_anon: u64,
    pub inactive_anon: u64,
    pub active_file: u64,
    pub inactive_file: u64,
    pub unevictable: u64,
    pub slab_reclaimable: u64,
    pub slab_unreclaimable: u64,
}

/// The kernel's own layout: the label with its colon padded to 16 columns,
/// the value right-aligned in 8 (`show_val_kb` in fs/proc/meminfo.c).
fn line(key: &str, kb: u64) -> String {
    format!("{:<16}{kb:>8} kB", format!("{key}:"))
}

/// Whether the cgroup's memory is its own view (a limit below the host's
/// memory); otherwise it sees the host's files.
pub fn is_limited(host: &str, m: &Memory) -> bool {
    m.limit / 1024 < field(host, "MemTotal").unwrap_or(u64::MAX)
}

/// (SwapTotal, SwapFree) in kB: its swap limit, capped by the host's swap;
/// `None` when the kernel accounts no swap for it.
pub fn swap(host: &str, m: &Memory) -> Option<(u64, u64)> {
    let limit = m.swap_limit?;
    let total = (limit / 1024).min(field(host, "SwapTotal").unwrap_or(0));
    Some((total, total.saturating_sub(m.swap_usage / 1024)))
}

/// The host's `meminfo` text with the cgroup's numbers in place.
pub fn render(host: &str, m: &Memory) -> String {
    if !is_limited(host, m) {
        return host.to_owned();
    }
    let total = m.limit / 1024;
    let kb = |b: u64| b / 1024;
    let c = &m.counters;
    let used = kb(m.usage).min(total);
    let free = total - used;
    // LXCFS's rule: what could be had without swapping (limit - usage plus
    // the page cache and slab the kernel can reclaim), never above the total.
    let available = free
        .saturating_add(kb(c.active_file + c.inactive_file + c.slab_reclaimable))
        .min(total);
    let swap = swap(host, m);
    let ours = |key: &str| -> Option<u64> {
        Some(match key {
            "MemTotal" => total,
            "MemFree" => free,
            "MemAvailable" => available,
            "Buffers" => 0,
            // memory.stat's file pages include shmem, as the kernel's Cached does.
            "Cached" => kb(c.file),
            "SwapCached" => 0,
            "Active" => kb(c.active_anon + c.active_file),
            "Inactive" => kb(c.inactive_anon + c.inactive_file),
            "Active(anon)" => kb(c.active_anon),
            "Inactive(anon)" => kb(c.inactive_anon),
            "Active(file)" => kb(c.active_file),
            "Inactive(file)" => kb(c.inactive_file),
            "Unevictable" => kb(c.unevictable),
            "AnonPages" => kb(c.anon),
            "Mapped" => kb(c.mapped),
            "Shmem" => kb(c.shmem),
            "Slab" => kb(c.slab_reclaimable + c.slab_unreclaimable),
            "SReclaimable" => kb(c.slab_reclaimable),
            "SUnreclaim" => kb(c.slab_unreclaimable),
            "SwapTotal" => swap?.0,
            "SwapFree" => swap?.1,
            _ => return None,
        })
    };
    let mut out = String::with_capacity(host.len());
    for l in host.lines() {
        let key = l.split_once(':').map(|(k, _)| k);
        match key.and_then(|k| Some((k, ours(k)?))) {
            Some((k, v)) => out.push_str(&line(k, v)),
            None => out.push_str(l),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "MemTotal:       24505436 kB\nMemFree:        20000000 kB\nMemAvailable:   22000000 kB\nBuffers:          100000 kB\nCached:          1000000 kB\nSwapCached:            0 kB\nActive:           500000 kB\nInactive:         400000 kB\nShmem:             10000 kB\nSwapTotal:       1048572 kB\nSwapFree:        1048572 kB\nHugePages_Total:       0\nHugepagesize:       2048 kB\n";

    fn limited(limit: u64) -> Memory {
        Memory {
            limit,
            usage: 16 << 20,
            swap_limit: None,
            swap_usage: 0,
            counters: Counters {
                file: 4 << 20,
                active_file: 1 << 20,
                inactive_file: 2 << 20,
                shmem: 1 << 20,
                active_anon: 8 << 20,
                ..Counters::default()
            },
        }
    }

    #[test]
    fn limited_cgroup_sees_its_limit_and_counters() {
        let out = render(HOST, &limited(64 << 20));
        assert!(out.contains("MemTotal:          65536 kB\n"), "{out}");
        assert_eq!(field(&out, "MemFree"), Some(65536 - 16384));
        assert_eq!(field(&out, "MemAvailable"), Some(65536 - 16384 + 3072));
        assert_eq!(field(&out, "Buffers"), Some(0));
        assert_eq!(field(&out, "Cached"), Some(4096));
        assert_eq!(field(&out, "Active"), Some(8192 + 1024));
        assert_eq!(field(&out, "Shmem"), Some(1024));
        // No swap accounting: the host's swap lines; others untouched.
        assert_eq!(field(&out, "SwapTotal"), Some(1048572));
        assert!(out.contains("HugePages_Total:       0\n"));
        assert_eq!(out.lines().count(), HOST.lines().count());
    }

    #[test]
    fn unlimited_cgroup_sees_the_host() {
        assert_eq!(render(HOST, &limited(u64::MAX)), HOST);
        assert_eq!(render(HOST, &limited(64 << 30)), HOST);
    }

    #[test]
    fn usage_above_limit_does_not_underflow() {
        let mut m = limited(8 << 20);
        m.counters.active_file = 64 << 20;
        let out = render(HOST, &m);
        assert_eq!(field(&out, "MemFree"), Some(0));
        assert_eq!(field(&out, "MemAvailable"), Some(8192));
    }

    #[test]
    fn swap_from_its_limit_capped_by_the_host() {
        let mut m = limited(64 << 20);
        m.swap_limit = Some(32 << 20);
        m.swap_usage = 1 << 20;
        let out = render(HOST, &m);
        assert_eq!(field(&out, "SwapTotal"), Some(32768));
        assert_eq!(field(&out, "SwapFree"), Some(32768 - 1024));
        m.swap_limit = Some(u64::MAX);
        let out = render(HOST, &m);
        assert_eq!(field(&out, "SwapTotal"), Some(1048572));
    }
}
