//! `/proc/stat` for a cgroup: the `cpu` line and one `cpuN` line per visible
//! CPU from the cgroup's own usage; every other line (intr, ctxt, btime,
//! processes, ...) is the host's.

/// A cgroup's CPU time, in clock ticks (USER_HZ), since it began.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTime {
    pub user: u64,
    pub system: u64,
}

/// The host's `stat` text with `n` CPUs. The cgroup's usage is shared evenly
/// between them (the quota, not the host CPU it ran on, is what it was
/// given); idle is the rest of `uptime_ticks` on each.
pub fn render(host: &str, n: usize, used: CpuTime, uptime_ticks: u64) -> String {
    let n = n.max(1);
    let each = |v: u64, i: usize| v / n as u64 + u64::from((i as u64) < v % n as u64);
    let mut cpus = Vec::with_capacity(n);
    for i in 0..n {
        let (user, system) = (each(used.user, i), each(used.system, i));
        let idle = uptime_ticks.saturating_sub(user + system);
        cpus.push([user, 0, system, idle]);
    }
    let mut total = [0u64; 4];
    for c in &cpus {
        for (t, v) in total.iter_mut().zip(c) {
            *t += v;
        }
    }
    let fmt = |name: &str, [user, nice, system, idle]: [u64; 4]| {
        format!("{name} {user} {nice} {system} {idle} 0 0 0 0 0 0\n")
    };
    let mut out = fmt("cpu ", total);
    for (i, c) in cpus.into_iter().enumerate() {
        out.push_str(&fmt(&format!("cpu{i}"), c));
    }
    for l in host.lines().filter(|l| !l.starts_with("cpu")) {
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "cpu  100 0 50 1000 0 0 0 0 0 0\ncpu0 50 0 25 500 0 0 0 0 0 0\ncpu1 50 0 25 500 0 0 0 0 0 0\nintr 5 1\nctxt 99\nbtime 1700000000\nprocesses 7\n";

    #[test]
    fn one_cpu_line_per_visible_cpu_from_the_cgroup() {
        let out = render(
            HOST,
            1,
            CpuTime {
                user: 30,
                system: 10,
            },
            200,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "cpu  30 0 10 160 0 0 0 0 0 0");
        assert_eq!(lines[1], "cpu0 30 0 10 160 0 0 0 0 0 0");
        assert_eq!(lines[2], "intr 5 1");
        assert!(!out.contains("cpu1"));
        assert!(out.ends_with("processes 7\n"));
    }

    #[test]
    fn usage_is_shared_and_sums_to_the_total() {
        let out = render(
            HOST,
            2,
            CpuTime {
                user: 31,
                system: 9,
            },
            10,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "cpu  31 0 9 0 0 0 0 0 0 0");
        assert_eq!(lines[1], "cpu0 16 0 5 0 0 0 0 0 0 0");
        assert_eq!(lines[2], "cpu1 15 0 4 0 0 0 0 0 0 0");
    }
}
