//! `/proc/uptime` for a container: seconds since its init started, and the
//! idle seconds of its CPUs over that time (their time not used by it).

/// `uptime idle` with two decimals, as the kernel prints it; ticks in USER_HZ.
pub fn render(up_ticks: u64, idle_ticks: u64, hz: u64) -> String {
    let hz = hz.max(1);
    let two = |t: u64| format!("{}.{:02}", t / hz, (t % hz) * 100 / hz);
    format!("{} {}\n", two(up_ticks), two(idle_ticks))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_with_two_decimals() {
        assert_eq!(render(123, 45, 100), "1.23 0.45\n");
        assert_eq!(render(0, 0, 100), "0.00 0.00\n");
        assert_eq!(render(2500, 1000, 1000), "2.50 1.00\n");
    }
}
