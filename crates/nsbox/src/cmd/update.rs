//! `nsbox update`: runc's update (a live container's limits).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// OCI LinuxResources JSON from FILE, or `-` for stdin; the flags below
    /// override the fields they name.
    #[arg(short, long, value_name = "FILE")]
    pub resources: Option<String>,
    /// Memory limit in bytes (suffixes k, m, g, t; -1 for none).
    #[arg(short, long, allow_hyphen_values = true)]
    pub memory: Option<String>,
    /// Memory plus swap limit (as --memory; -1 for unlimited swap).
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Memory soft limit (as --memory).
    #[arg(long, allow_hyphen_values = true)]
    pub memory_reservation: Option<String>,
    /// CPU time in µs per period (-1 for none).
    #[arg(long, allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU period in µs.
    #[arg(long)]
    pub cpu_period: Option<u64>,
    /// Relative CPU weight (v1 shares; converted to cpu.weight on v2).
    #[arg(long)]
    pub cpu_shares: Option<u64>,
    /// CPUs the container may run on (0-3, 0,1).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Memory nodes the container may use.
    #[arg(long)]
    pub cpuset_mems: Option<String>,
    /// Maximum number of processes (0 or -1 for none).
    #[arg(long, allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Block IO weight (10-1000).
    #[arg(long)]
    pub blkio_weight: Option<u16>,
    /// The container id.
    pub id: String,
}

pub fn run(args: Args) -> anyhow::Result<u8> {
    let opts = nsbox_runtime::update::UpdateOptions {
        resources: args.resources,
        memory: args.memory,
        memory_swap: args.memory_swap,
        memory_reservation: args.memory_reservation,
        cpu_quota: args.cpu_quota,
        cpu_period: args.cpu_period,
        cpu_shares: args.cpu_shares,
        cpuset_cpus: args.cpuset_cpus,
        cpuset_mems: args.cpuset_mems,
        pids_limit: args.pids_limit,
        blkio_weight: args.blkio_weight,
    };
    let warnings = nsbox_runtime::update::update(&crate::global::root()?, &args.id, &opts)?;
    super::warn(&format!("update {}", args.id), warnings);
    Ok(0)
}
