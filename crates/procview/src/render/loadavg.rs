//! `/proc/loadavg` for a cgroup: the kernel's exponentially decaying
//! averages (kernel/sched/loadavg.c's fixed-point `calc_load`) over its own
//! runnable and uninterruptible tasks, sampled every 5 seconds.

/// Bits of fraction in the fixed-point numbers.
const FSHIFT: u32 = 11;
/// 1.0 in fixed point.
const FIXED_1: u64 = 1 << FSHIFT;
/// exp(-5s/1min), exp(-5s/5min), exp(-5s/15min) in fixed point.
const EXP: [u64; 3] = [1884, 2014, 2037];

/// The 1, 5 and 15 minute averages in fixed point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadAvg(pub [u64; 3]);

/// The kernel's `calc_load`: one 5-second step towards `active`.
fn calc(load: u64, exp: u64, active: u64) -> u64 {
    let mut new = load * exp + active * (FIXED_1 - exp);
    if active >= load {
        new += FIXED_1 - 1;
    }
    new / FIXED_1
}

impl LoadAvg {
    /// One sample: `active` tasks running or in uninterruptible sleep.
    pub fn update(&mut self, active: u64) {
        let active = active * FIXED_1;
        for (avg, exp) in self.0.iter_mut().zip(EXP) {
            *avg = calc(*avg, exp, active);
        }
    }
}

/// `A B C running/total last`, as the kernel prints it (rounded to
/// hundredths). The last pid is 0: the host's would leak its pid space.
pub fn render(load: &LoadAvg, running: u64, total: u64) -> String {
    let two = |x: u64| {
        let x = x + FIXED_1 / 200;
        format!(
            "{}.{:02}",
            x >> FSHIFT,
            ((x & (FIXED_1 - 1)) * 100) >> FSHIFT
        )
    };
    let [a, b, c] = load.0;
    format!("{} {} {} {running}/{total} 0\n", two(a), two(b), two(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_busy_task_for_a_minute_approaches_one() {
        let mut l = LoadAvg::default();
        assert_eq!(render(&l, 0, 3), "0.00 0.00 0.00 0/3 0\n");
        for _ in 0..12 {
            l.update(1);
        }
        // 1 - e^-1 = 0.63 after one minute, as the kernel computes it.
        let out = render(&l, 1, 3);
        assert!(out.starts_with("0.6"), "{out}");
        let five: f64 = out.split(' ').nth(1).unwrap().parse().unwrap();
        assert!((0.17..0.19).contains(&five), "{out}");
        for _ in 0..1000 {
            l.update(2);
        }
        assert!(render(&l, 2, 3).starts_with("2.00 2.00 2.00 "));
        for _ in 0..1000 {
            l.update(0);
        }
        assert!(render(&l, 0, 3).starts_with("0.00 0.00 0.00 "));
    }
}
