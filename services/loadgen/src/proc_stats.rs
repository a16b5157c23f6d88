//! CPU time and resident memory of processes, read from /proc; and the CPU split of a run:
//! how many CPU seconds each watched process tree (a service, Postgres's postmaster with its
//! backends, nginx's master with its workers, this load generator) used in a window.

use std::{collections::HashMap, str::FromStr, time::Instant};

use anyhow::Context;
use serde_json::{json, Value};

/// Clock ticks per second on Linux.
const TICKS: f64 = 100.0;

/// User + system CPU seconds of `pid` ("self" for this process).
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = read_stat(pid)?;
    Some(stat.own)
}

/// Resident set size of `pid` in KiB.
pub fn rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// One line of /proc/<pid>/stat, in seconds.
struct Stat {
    ppid: u32,
    /// utime + stime: every thread of the process.
    own: f64,
    /// cutime + cstime: the children it has waited for, so a Postgres backend that exits
    /// during a run still counts (its parent reaps it).
    reaped: f64,
}

fn read_stat(pid: &str) -> Option<Stat> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| fields.get(i)?.parse::<f64>().ok();
    Some(Stat {
        ppid: fields.get(1)?.parse().ok()?,
        own: (field(11)? + field(12)?) / TICKS,
        reaped: (field(13)? + field(14)?) / TICKS,
    })
}

/// A process tree to account CPU to, from `--watch NAME=PID`.
#[derive(Debug, Clone)]
pub struct Watched {
    name: String,
    pid: u32,
}

impl FromStr for Watched {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> anyhow::Result<Self> {
        let (name, pid) = s.split_once('=').context("expected NAME=PID")?;
        Ok(Self {
            name: name.to_owned(),
            pid: pid.trim().parse().context("PID must be a number")?,
        })
    }
}

/// CPU seconds of every watched tree at one instant.
pub struct CpuSnapshot {
    at: Instant,
    /// Per watched tree: (seconds, live processes), `None` when its root is gone.
    trees: Vec<Option<(f64, usize)>>,
}

/// The trees a run is split over; this process (and any child it runs) is always one of
/// them, as `loadgen`.
pub struct CpuWatch {
    watched: Vec<Watched>,
}

impl CpuWatch {
    /// Watches `watched` and this process.
    pub fn new(mut watched: Vec<Watched>) -> Self {
        watched.push(Watched {
            name: "loadgen".to_owned(),
            pid: std::process::id(),
        });
        Self { watched }
    }

    /// Reads every process once and sums each tree.
    pub fn snapshot(&self) -> CpuSnapshot {
        let processes = all_processes();
        CpuSnapshot {
            at: Instant::now(),
            trees: self
                .watched
                .iter()
                .map(|w| tree_seconds(&processes, w.pid))
                .collect(),
        }
    }

    /// The split between two snapshots: CPU seconds and average cores per tree.
    pub fn report(&self, before: &CpuSnapshot, after: &CpuSnapshot) -> Value {
        let window = after.at.duration_since(before.at).as_secs_f64();
        let mut total = 0.0;
        let trees: Vec<Value> = self
            .watched
            .iter()
            .zip(before.trees.iter().zip(&after.trees))
            .map(|(w, (b, a))| {
                let used = b.zip(*a).map(|((b, _), (a, _))| (a - b).max(0.0));
                total += used.unwrap_or(0.0);
                json!({
                    "name": w.name,
                    "pid": w.pid,
                    "processes": a.map(|(_, n)| n),
                    "cpu_seconds": used.map(round3),
                    "cores": used.map(|u| round3(u / window.max(1e-9))),
                })
            })
            .collect();
        json!({
            "window_seconds": round3(window),
            "total_cpu_seconds": round3(total),
            "total_cores": round3(total / window.max(1e-9)),
            "trees": trees,
        })
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Every process's stat line, by pid.
fn all_processes() -> HashMap<u32, Stat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return HashMap::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, read_stat(&pid.to_string())?)))
        .collect()
}

/// `root` and its live descendants (own time plus what each has reaped), and how many
/// processes that is. A child reaped during the window moves from "own" to its parent's
/// "reaped", so the difference of two sums is the window's CPU.
fn tree_seconds(processes: &HashMap<u32, Stat>, root: u32) -> Option<(f64, usize)> {
    processes.get(&root)?;
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (&pid, stat) in processes {
        children.entry(stat.ppid).or_default().push(pid);
    }
    let (mut seconds, mut count, mut queue) = (0.0, 0, vec![root]);
    while let Some(pid) = queue.pop() {
        if let Some(stat) = processes.get(&pid) {
            seconds += stat.own + stat.reaped;
            count += 1;
        }
        queue.extend(children.get(&pid).into_iter().flatten());
    }
    Some((seconds, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_watched_and_uses_cpu() {
        let watch = CpuWatch::new(vec!["init=1".parse().unwrap()]);
        let before = watch.snapshot();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        std::hint::black_box(x);
        let after = watch.snapshot();
        let report = watch.report(&before, &after);
        let trees = report["trees"].as_array().unwrap();
        assert_eq!(trees.len(), 2);
        assert_eq!(trees[1]["name"], "loadgen");
        assert!(trees[1]["cpu_seconds"].as_f64().unwrap() >= 0.0);
    }

    #[test]
    fn watch_spec_needs_a_numeric_pid() {
        assert!("postgres=12".parse::<Watched>().is_ok());
        assert!("postgres".parse::<Watched>().is_err());
        assert!("postgres=x".parse::<Watched>().is_err());
    }
}
