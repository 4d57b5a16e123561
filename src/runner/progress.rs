//! Progress output: an indicatif bar on a terminal, plain lines otherwise.

use super::recorder::Recorder;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub struct Progress {
    tty: bool,
}

impl Default for Progress {
    fn default() -> Self {
        Progress::new()
    }
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            tty: std::io::stderr().is_terminal(),
        }
    }

    pub fn line(&self, s: &str) {
        eprintln!("faultline: {s}");
    }

    /// Blocks until `deadline` (or a stop), showing ops recorded so far.
    pub fn client_phase(&self, rec: &Recorder, deadline: Instant, stop: &AtomicBool) {
        let total = deadline.saturating_duration_since(Instant::now());
        let start = Instant::now();
        let bar = self.tty.then(|| {
            let b = ProgressBar::new(total.as_millis() as u64);
            b.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        let mut last_line = Instant::now();
        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            let msg = format!("{} ops", rec.len());
            match &bar {
                Some(b) => {
                    b.set_position(start.elapsed().as_millis() as u64);
                    b.set_message(msg);
                }
                None if last_line.elapsed() >= Duration::from_secs(5) => {
                    last_line = Instant::now();
                    self.line(&format!("{:.0} s: {msg}", start.elapsed().as_secs_f64()));
                }
                None => {}
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
    }
}
