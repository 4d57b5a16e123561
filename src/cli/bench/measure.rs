//! What the server benchmarks (`bench store`, `bench etcd`) measure alike: latency
//! histograms, the summary line, and the servers' CPU time from `/proc`. Shared so the
//! two systems' figures are taken and printed the same way and can be compared.

use hdrhistogram::Histogram;

/// A latency histogram in microseconds, 1 µs to 60 s at 3 significant digits.
pub(super) fn histogram() -> anyhow::Result<Histogram<u64>> {
    Ok(Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?)
}

/// One line of the report: rate and latency quantiles of `h` over `secs`.
pub(super) fn line(what: &str, h: &Histogram<u64>, secs: u64) -> String {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    format!(
        "{what}/s {:.0}  p50 {:.2} ms  p99 {:.2} ms  p99.9 {:.2} ms  max {:.2} ms",
        h.len() as f64 / secs as f64,
        ms(0.5),
        ms(0.99),
        ms(0.999),
        h.max() as f64 / 1000.0
    )
}

/// CPU time (user + system, all threads) a process has used so far, from
/// `/proc/PID/stat`; `None` where that file is unreadable.
pub(super) fn cpu_secs(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = s.get(s.rfind(')')? + 2..)?;
    let f: Vec<&str> = rest.split(' ').collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf reads a constant of the running kernel.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| ticks / hz as f64)
}

/// Total CPU seconds of the processes `pids`, if every one is readable.
pub(super) fn total_cpu(pids: &[u32]) -> Option<f64> {
    pids.iter().map(|&p| cpu_secs(p)).sum()
}

/// The server CPU of one run: seconds used between two [`total_cpu`] readings,
/// and per answered operation (µs). Per operation is steadier than the rate on
/// a shared VM, whose disk latency drifts from minute to minute.
pub(super) fn cpu_per_op(before: Option<f64>, after: Option<f64>, ops: u64) -> (Option<f64>, Option<f64>) {
    let cpu = after.zip(before).map(|(b, a)| b - a);
    let per = cpu.filter(|_| ops > 0).map(|c| c * 1e6 / ops as f64);
    (cpu, per)
}

/// The human line of [`cpu_per_op`]'s figures, if both were measured.
pub(super) fn cpu_line(cpu: Option<f64>, per_op: Option<f64>, secs: u64) -> Option<String> {
    let (c, per) = (cpu?, per_op?);
    Some(format!(
        "node cpu {c:.2} s ({:.0}% of one core), {per:.1} µs per operation",
        c * 100.0 / secs as f64
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_used_some_cpu() {
        let spin = std::time::Instant::now();
        while spin.elapsed() < std::time::Duration::from_millis(30) {}
        let c = cpu_secs(std::process::id()).expect("own /proc stat readable");
        assert!(c > 0.0, "{c}");
        assert_eq!(cpu_secs(u32::MAX), None);
        assert_eq!(total_cpu(&[std::process::id(), u32::MAX]), None);
    }

    #[test]
    fn cpu_per_op_needs_both_readings_and_some_operations() {
        assert_eq!(cpu_per_op(Some(1.0), Some(3.0), 4), (Some(2.0), Some(500_000.0)));
        assert_eq!(cpu_per_op(None, Some(3.0), 4), (None, None));
        assert_eq!(cpu_per_op(Some(1.0), Some(3.0), 0), (Some(2.0), None));
        assert_eq!(
            cpu_line(Some(2.0), Some(500_000.0), 4).unwrap(),
            "node cpu 2.00 s (50% of one core), 500000.0 µs per operation"
        );
    }
}
