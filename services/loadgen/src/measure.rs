//! `measure`: runs another load tool (wrk) and reports its output with the run's CPU split,
//! so an HTTP benchmark gets the same JSON shape as `chat` and `idle`. The tool's CPU is
//! counted as `loadgen`'s: it is this process's child, reaped before the second snapshot.

use std::process::Stdio;

use anyhow::Context;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::proc_stats::{CpuWatch, Watched};

/// `measure` arguments.
#[derive(clap::Args)]
pub struct MeasureArgs {
    /// A process tree to split the run's CPU over (repeatable).
    #[arg(long = "watch", value_name = "NAME=PID")]
    watch: Vec<Watched>,
    /// The command to run, after `--`.
    #[arg(last = true, required = true)]
    command: Vec<String>,
}

/// Runs the command, echoing its output to stderr, and reports it.
pub async fn run(args: MeasureArgs) -> anyhow::Result<Value> {
    let watch = CpuWatch::new(args.watch);
    let (program, rest) = args.command.split_first().context("no command")?;
    let before = watch.snapshot();
    let mut child = tokio::process::Command::new(program)
        .args(rest)
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {program}"))?;
    let mut lines = BufReader::new(child.stdout.take().context("child stdout")?).lines();
    let mut output = String::new();
    while let Some(line) = lines.next_line().await? {
        eprintln!("{line}");
        output.push_str(&line);
        output.push('\n');
    }
    let status = child.wait().await?;
    let after = watch.snapshot();
    let mut report = json!({
        "benchmark": "measure",
        "exit_status": status.code(),
        "output": output,
        "cpu": watch.report(&before, &after),
    });
    if program.ends_with("wrk") {
        report["wrk"] = wrk_figures(&output);
    }
    Ok(report)
}

/// Requests/s, errors and the `--latency` percentiles (ms) from wrk's text output.
fn wrk_figures(output: &str) -> Value {
    let mut latency = serde_json::Map::new();
    let mut figures = json!({ "non_2xx": 0, "socket_errors": Value::Null });
    let mut in_distribution = false;
    for line in output.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if line.starts_with("Latency Distribution") {
            in_distribution = true;
            continue;
        }
        if in_distribution {
            match (words.first(), words.get(1)) {
                (Some(p), Some(v)) if p.ends_with('%') && words.len() == 2 => {
                    let key = format!("p{}", p.trim_end_matches('%').replace(".000", ""));
                    latency.insert(key, json!(duration_ms(v)));
                    continue;
                }
                _ => in_distribution = false,
            }
        }
        if let Some(rate) = line.strip_prefix("Requests/sec:") {
            figures["requests_per_second"] = json!(rate.trim().parse::<f64>().ok());
        } else if let Some(n) = line.strip_prefix("Non-2xx or 3xx responses:") {
            figures["non_2xx"] = json!(n.trim().parse::<u64>().ok());
        } else if line.starts_with("Socket errors:") {
            figures["socket_errors"] = json!(line.trim_start_matches("Socket errors:").trim());
        } else if words.get(1) == Some(&"requests") && words.get(2) == Some(&"in") {
            figures["requests"] = json!(words[0].parse::<u64>().ok());
        }
    }
    figures["latency_ms"] = Value::Object(latency);
    figures
}

/// wrk's `10.21ms` / `1.02s` / `850.00us` in milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = match unit {
        "us" => 0.001,
        "ms" => 1.0,
        "s" => 1000.0,
        "m" => 60_000.0,
        _ => return None,
    };
    Some((number * scale * 1000.0).round() / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRK: &str = "Running 2s test @ http://127.0.0.1:1/user/x/
  2 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.92ms    4.43ms  57.87ms   75.68%
    Req/Sec     2.94k   254.17     3.47k    70.00%
  Latency Distribution
     50%   10.21ms
     75%   13.05ms
     90%   16.41ms
     99%    1.02s
  11711 requests in 2.00s, 5.11MB read
  Non-2xx or 3xx responses: 3
Requests/sec:   5846.12
Transfer/sec:      2.55MB
";

    #[test]
    fn wrk_output_gives_rate_and_percentiles() {
        let f = wrk_figures(WRK);
        assert_eq!(f["requests_per_second"], 5846.12);
        assert_eq!(f["requests"], 11711);
        assert_eq!(f["non_2xx"], 3);
        assert_eq!(f["latency_ms"]["p50"], 10.21);
        assert_eq!(f["latency_ms"]["p99"], 1020.0);
    }

    #[test]
    fn durations_convert_to_milliseconds() {
        assert_eq!(duration_ms("850.00us"), Some(0.85));
        assert_eq!(duration_ms("2.5ms"), Some(2.5));
        assert_eq!(duration_ms("bogus"), None);
    }
}
