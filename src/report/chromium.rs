//! Headless Chromium, for tests and `faultline bench report`: load a report
//! from disk, dump the rendered DOM, collect console messages, take a
//! screenshot. No network is involved (the page is a local file with a CSP
//! that forbids fetching anything).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ChromiumError {
    #[error("Chromium not found (looked for $CHROMIUM, chromium, chromium-browser, google-chrome); install it (Debian: apt-get install chromium)")]
    NotFound,
    #[error("running {bin}: {source}")]
    Spawn { bin: String, source: std::io::Error },
    #[error("{bin} exited with {status}: {stderr}")]
    Failed {
        bin: String,
        status: String,
        stderr: String,
    },
}

/// What a headless load produced.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The DOM after scripts ran (`--dump-dom`).
    pub dom: String,
    /// Console messages the page logged (any level; our page logs none).
    pub console: Vec<String>,
    /// Wall time of the whole browser run (start-up included).
    pub wall: Duration,
}

/// Finds the browser: `$CHROMIUM`, then the usual names on `PATH`.
pub fn find() -> Result<PathBuf, ChromiumError> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Ok(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        for dir in std::env::split_paths(&path) {
            let p = dir.join(name);
            if p.is_file() {
                return Ok(p);
            }
        }
    }
    Err(ChromiumError::NotFound)
}

fn base_command(bin: &Path, profile: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

fn file_url(p: &Path) -> String {
    let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    format!("file://{}", abs.display())
}

/// How long one browser run may take before it is killed.
pub const TIMEOUT: Duration = Duration::from_secs(90);

fn run(mut c: Command, bin: &Path) -> Result<(String, String), ChromiumError> {
    let name = bin.display().to_string();
    let spawn_err = |source| ChromiumError::Spawn {
        bin: name.clone(),
        source,
    };
    let mut child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_err)?;
    // Drain both pipes on threads so a chatty browser cannot block on a full pipe.
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out_t = drain(child.stdout.take().map(|r| Box::new(r) as Box<dyn Read + Send>));
    let err_t = drain(child.stderr.take().map(|r| Box::new(r) as Box<dyn Read + Send>));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait().map_err(spawn_err)? {
            Some(s) => break Some(s),
            None if Instant::now() >= deadline => {
                // Kill only the browser we started (by its own handle).
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    match status {
        Some(s) if s.success() => Ok((stdout, stderr)),
        other => Err(ChromiumError::Failed {
            bin: name,
            status: other.map_or_else(
                || format!("timeout after {TIMEOUT:?} (killed)"),
                |s| s.to_string(),
            ),
            stderr: stderr.chars().take(2000).collect(),
        }),
    }
}

/// Loads `page` headless and returns the rendered DOM and console messages.
pub fn dump_dom(page: &Path) -> Result<Loaded, ChromiumError> {
    dump_dom_at(page, "")
}

/// [`dump_dom`] with a URL fragment (e.g. `#t=3.6,6.0`) appended to the page's URL.
pub fn dump_dom_at(page: &Path, fragment: &str) -> Result<Loaded, ChromiumError> {
    let bin = find()?;
    let profile = tempfile::tempdir().map_err(|source| ChromiumError::Spawn {
        bin: bin.display().to_string(),
        source,
    })?;
    let mut c = base_command(&bin, profile.path());
    c.arg("--dump-dom").arg(file_url(page) + fragment);
    let t = Instant::now();
    let (dom, stderr) = run(c, &bin)?;
    let console = stderr
        .lines()
        .filter(|l| l.contains("CONSOLE"))
        .map(str::to_string)
        .collect();
    Ok(Loaded {
        dom,
        console,
        wall: t.elapsed(),
    })
}

/// Saves a PNG screenshot of `page` at `width`×`height` CSS pixels.
pub fn screenshot(page: &Path, png: &Path, width: u32, height: u32) -> Result<(), ChromiumError> {
    let bin = find()?;
    let profile = tempfile::tempdir().map_err(|source| ChromiumError::Spawn {
        bin: bin.display().to_string(),
        source,
    })?;
    let mut c = base_command(&bin, profile.path());
    c.arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg("--hide-scrollbars")
        .arg(file_url(page));
    run(c, &bin).map(|_| ())
}

/// The value of attribute `name` on the `<body>` element of a dumped DOM.
pub fn body_attr(dom: &str, name: &str) -> Option<String> {
    let start = dom.find("<body")?;
    let tag_end = start + dom[start..].find('>')?;
    let tag = &dom[start..tag_end];
    let needle = format!(" {name}=\"");
    let i = tag.find(&needle)? + needle.len();
    let j = tag[i..].find('"')?;
    Some(tag[i..i + j].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_body_attributes() {
        let dom = r#"<html><head></head><body data-rendered="1" data-render-ms="12.5"><p data-x="no">"#;
        assert_eq!(body_attr(dom, "data-rendered").as_deref(), Some("1"));
        assert_eq!(body_attr(dom, "data-render-ms").as_deref(), Some("12.5"));
        assert_eq!(body_attr(dom, "data-x"), None);
    }
}
