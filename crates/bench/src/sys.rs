//! What the machine and this process look like, from `/proc`: CPU model and memory, peak
//! resident memory (`VmHWM`), and CPU time over a phase of this process, of the local
//! PostgreSQL server's processes, and of everything else (others compiling on a shared machine
//! skew a benchmark; this makes it visible).

use std::time::Instant;

/// Linux reports `/proc` CPU times in USER_HZ ticks, 100 per second on every mainstream kernel.
const TICKS_PER_SECOND: f64 = 100.0;

/// The machine the run was on.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub model: String,
    pub memory_gib: f64,
    pub kernel: String,
}

pub fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or_else(|| "unknown".to_owned(), |(_, m)| m.trim().to_owned());
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| kb_field(&m, "MemTotal"))
        .map_or(0.0, |kb| kb as f64 / (1024.0 * 1024.0));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".to_owned(), |k| k.trim().to_owned());
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        model,
        memory_gib,
        kernel,
    }
}

fn kb_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Peak resident set size of this process in MiB (`VmHWM`).
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    kb_field(&status, "VmHWM").map(|kb| kb as f64 / 1024.0)
}

/// Resets `VmHWM` to the current RSS, so the next reading is the peak of what follows.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU counters at one instant.
#[derive(Debug, Clone, Copy)]
pub struct CpuSnapshot {
    at: Instant,
    process_ticks: u64,
    database_ticks: u64,
    machine_busy_ticks: u64,
    machine_iowait_ticks: u64,
}

/// CPU use between two snapshots, in cores (1.0 = one core busy all the time).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    pub process_cores: f64,
    /// PostgreSQL's processes (0 with SQLite, which runs inside the process).
    pub database_cores: f64,
    pub others_cores: f64,
    pub iowait_cores: f64,
}

/// `utime + stime` (and with `children`, `cutime + cstime`) from a `/proc/…/stat` text.
fn stat_ticks(stat: &str, children: bool) -> Option<u64> {
    // Fields after the parenthesised command name: state is the first, utime the 12th.
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    let own = fields.first()? + fields.get(1)?;
    Some(if children {
        own + fields.get(2)? + fields.get(3)?
    } else {
        own
    })
}

/// CPU ticks of every `postgres` process, plus those of its exited children (which the
/// postmaster's `cutime`/`cstime` hold), so backends that come and go are counted.
fn database_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm")).is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|stat| stat_ticks(&stat, true))
        .sum()
}

pub fn cpu_snapshot() -> Option<CpuSnapshot> {
    let process = stat_ticks(&std::fs::read_to_string("/proc/self/stat").ok()?, false)?;
    let machine = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu: Vec<u64> = machine
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal …
    let busy = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| cpu.get(i)).sum();
    Some(CpuSnapshot {
        at: Instant::now(),
        process_ticks: process,
        database_ticks: database_ticks(),
        machine_busy_ticks: busy,
        machine_iowait_ticks: cpu.get(4).copied().unwrap_or(0),
    })
}

pub fn cpu_between(a: Option<CpuSnapshot>, b: Option<CpuSnapshot>) -> CpuUse {
    let (Some(a), Some(b)) = (a, b) else {
        return CpuUse::default();
    };
    let wall = b.at.duration_since(a.at).as_secs_f64().max(1e-9);
    let cores = |ticks: u64| ticks as f64 / TICKS_PER_SECOND / wall;
    let process = b.process_ticks.saturating_sub(a.process_ticks);
    let database = b.database_ticks.saturating_sub(a.database_ticks);
    let machine = b.machine_busy_ticks.saturating_sub(a.machine_busy_ticks);
    CpuUse {
        process_cores: cores(process),
        database_cores: cores(database),
        others_cores: cores(machine.saturating_sub(process + database)),
        iowait_cores: cores(
            b.machine_iowait_ticks
                .saturating_sub(a.machine_iowait_ticks),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_after_the_command_name() {
        // pid (comm with ) and spaces) state ppid … utime stime cutime cstime …
        let stat = "42 (a) b) S 1 2 3 4 5 6 7 8 9 10 100 20 3 4 20 0 1 0";
        assert_eq!(stat_ticks(stat, false), Some(120));
        assert_eq!(stat_ticks(stat, true), Some(127));
    }

    #[test]
    fn kilobyte_fields_are_read_from_proc_text() {
        let text = "Name:\tx\nVmHWM:\t  12345 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(kb_field(text, "VmHWM"), Some(12345));
        assert_eq!(kb_field(text, "VmRSS"), Some(100));
        assert_eq!(kb_field(text, "VmSwap"), None);
    }
}
