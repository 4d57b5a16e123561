//! `faultline bench report`: render a synthetic failing run of N history
//! lines, load it in headless Chromium, and report file size and the time
//! from navigation start to the page's scripts finishing (`data-render-ms`).

use crate::report::{chromium, example, html};
use anyhow::Context;
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `faultline bench report`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// History lines in the synthetic run.
    #[arg(long, default_value_t = 100_000)]
    pub ops: usize,
    /// Concurrent client processes.
    #[arg(long, default_value_t = 10)]
    pub clients: u64,
    /// Browser loads to take the median of.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Where to write the page (default: a temporary file).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also save a 1400×2400 PNG screenshot here.
    #[arg(long)]
    pub screenshot: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<i32> {
    let (h, r) = example::failing_run(a.ops, a.clients, 42);
    let t = Instant::now();
    let page = html::render(&h, &r);
    let render_rust = t.elapsed();
    let tmp = tempfile::tempdir()?;
    let out = a.out.clone().unwrap_or_else(|| tmp.path().join("report.html"));
    std::fs::write(&out, &page).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "history: {} lines; page: {} bytes ({:.2} MB); Rust render {:.0} ms",
        h.len(),
        page.len(),
        page.len() as f64 / 1e6,
        render_rust.as_secs_f64() * 1e3
    );
    let mut times = Vec::new();
    for _ in 0..a.runs.max(1) {
        let l = chromium::dump_dom(&out)?;
        if chromium::body_attr(&l.dom, "data-rendered").as_deref() != Some("1") {
            anyhow::bail!("page did not finish rendering; console: {:?}", l.console);
        }
        let ms: f64 = chromium::body_attr(&l.dom, "data-render-ms")
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::NAN);
        println!(
            "chromium: navigation start → rendered {ms:.0} ms (browser process wall {:.0} ms)",
            l.wall.as_secs_f64() * 1e3
        );
        times.push(ms);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "median render: {:.0} ms (target < 2000 ms); file {:.2} MB (target < 10 MB)",
        times[times.len() / 2],
        page.len() as f64 / 1e6
    );
    if let Some(png) = a.screenshot {
        chromium::screenshot(&out, &png, 1400, 2400)?;
        println!("screenshot: {}", png.display());
    }
    Ok(0)
}
