//! Headless Chromium, for tests and `faultline bench report`: load a report
//! from disk, dump the rendered DOM, collect console messages, take a
//! screenshot. No network is involved (the page is a local file with a CSP
//! that forbids fetching anything).

use std::path::{Path, PathBuf};
use std::process::Command;
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

fn run(mut c: Command, bin: &Path) -> Result<(String, String), ChromiumError> {
    let out = c.output().map_err(|source| ChromiumError::Spawn {
        bin: bin.display().to_string(),
        source,
    })?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(ChromiumError::Failed {
            bin: bin.display().to_string(),
            status: out.status.to_string(),
            stderr: stderr.chars().take(2000).collect(),
        });
    }
    Ok((String::from_utf8_lossy(&out.stdout).into_owned(), stderr))
}

/// Loads `page` headless and returns the rendered DOM and console messages.
pub fn dump_dom(page: &Path) -> Result<Loaded, ChromiumError> {
    let bin = find()?;
    let profile = tempfile::tempdir().map_err(|source| ChromiumError::Spawn {
        bin: bin.display().to_string(),
        source,
    })?;
    let mut c = base_command(&bin, profile.path());
    c.arg("--dump-dom").arg(file_url(page));
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
