//! `/proc/diskstats` for a cgroup: for each disk the cgroup did IO on, its
//! own requests and sectors (v1 blkio's serviced/service_bytes, v2
//! io.stat); the kernel's timing and merge columns, which no cgroup file
//! gives, are 0; disks it never touched are left out (LXCFS's rule).

use std::collections::BTreeMap;

/// A cgroup's IO on one device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskIo {
    pub read_ios: u64,
    pub read_bytes: u64,
    pub write_ios: u64,
    pub write_bytes: u64,
    pub discard_ios: u64,
    pub discard_bytes: u64,
}

/// IO per (major, minor).
pub type Io = BTreeMap<(u32, u32), DiskIo>;

/// The host's `diskstats` lines for the devices in `io`, with its numbers;
/// each line keeps the host's count of columns (11, 15 or 17 numbers).
pub fn render(host: &str, io: &Io) -> String {
    let mut out = String::new();
    for l in host.lines() {
        let f: Vec<&str> = l.split_whitespace().collect();
        let (Some(major), Some(minor), Some(name)) = (f.first(), f.get(1), f.get(2)) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (major.parse(), minor.parse()) else {
            continue;
        };
        let Some(d) = io.get(&(major, minor)).filter(|d| **d != DiskIo::default()) else {
            continue;
        };
        let all = [
            d.read_ios,
            0,
            d.read_bytes / 512,
            0,
            d.write_ios,
            0,
            d.write_bytes / 512,
            0,
            0,
            0,
            0,
            d.discard_ios,
            0,
            d.discard_bytes / 512,
            0,
            0,
            0,
        ];
        let n = (f.len() - 3).min(all.len());
        let nums: Vec<String> = all[..n].iter().map(u64::to_string).collect();
        out.push_str(&format!(
            "{major:>4} {minor:>7} {name} {}\n",
            nums.join(" ")
        ));
    }
    out
}

/// v1 blkio `Read`/`Write`/`Discard` lines (`8:0 Read 12`) into `io`.
pub fn parse_v1(text: &str, io: &mut Io, bytes: bool) {
    for l in text.lines() {
        let mut f = l.split_whitespace();
        let (Some(dev), Some(op), Some(v)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let (Some(dev), Ok(v)) = (device(dev), v.parse::<u64>()) else {
            continue;
        };
        let d = io.entry(dev).or_default();
        let slot = match (op, bytes) {
            ("Read", false) => &mut d.read_ios,
            ("Write", false) => &mut d.write_ios,
            ("Discard", false) => &mut d.discard_ios,
            ("Read", true) => &mut d.read_bytes,
            ("Write", true) => &mut d.write_bytes,
            ("Discard", true) => &mut d.discard_bytes,
            _ => continue,
        };
        *slot = v;
    }
}

/// v2 `io.stat` (`8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0`).
pub fn parse_v2(text: &str) -> Io {
    let mut io = Io::new();
    for l in text.lines() {
        let mut f = l.split_whitespace();
        let Some(dev) = f.next().and_then(device) else {
            continue;
        };
        let d = io.entry(dev).or_default();
        for kv in f {
            let Some((k, v)) = kv.split_once('=') else {
                continue;
            };
            let v = v.parse().unwrap_or(0);
            match k {
                "rbytes" => d.read_bytes = v,
                "wbytes" => d.write_bytes = v,
                "rios" => d.read_ios = v,
                "wios" => d.write_ios = v,
                "dbytes" => d.discard_bytes = v,
                "dios" => d.discard_ios = v,
                _ => {}
            }
        }
    }
    io
}

fn device(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "   7       0 loop0 1 0 2 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n   8       0 sda 900 10 8000 50 700 20 9000 60 0 100 110 0 0 0 0 5 1\n   8       1 sda1 90 1 800 5 70 2 900 6 0 10 11\n";

    #[test]
    fn only_devices_it_used_with_its_numbers() {
        let mut io = Io::new();
        parse_v1(
            "8:0 Read 12\n8:0 Write 3\n8:0 Sync 15\n8:1 Read 0\nTotal 15\n",
            &mut io,
            false,
        );
        parse_v1("8:0 Read 4096\n8:0 Write 1024\nTotal 5120\n", &mut io, true);
        let out = render(HOST, &io);
        assert_eq!(out, "   8       0 sda 12 0 8 0 3 0 2 0 0 0 0 0 0 0 0 0 0\n");
        let v2 = parse_v2("8:1 rbytes=512 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n");
        assert_eq!(
            render(HOST, &v2),
            "   8       1 sda1 1 0 1 0 0 0 0 0 0 0 0\n"
        );
        assert_eq!(render(HOST, &Io::new()), "");
    }
}
