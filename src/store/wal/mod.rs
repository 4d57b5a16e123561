//! The write-ahead log: one file of framed records per node, plus a snapshot
//! file. Generic over a protocol's record and snapshot types (see
//! [`crate::store::seam::Write`]); what it recovers is exactly what applying
//! the durable writes to an empty [`Stored`] gives.
//!
//! Record frame: little-endian u32 body length, u32 CRC32 of the body, JSON body.
//! Recovery replays records until the first bad frame (short, oversized, CRC or
//! parse failure), reports that file and offset, and truncates the torn tail.
//!
//! The file grows in pre-allocated chunks ([`CHUNK`] bytes of zeros, written
//! and fully synced once), and records are written into them in place. So a
//! `batch` sync of an append is an `fdatasync` of data in an already allocated,
//! already sized region, which needs no file-system metadata flush. Invariant:
//! the bytes after the last record are zeros up to the end of the file; an
//! all-zero record header marks the end of the log (a body is never empty).
//! Zeros followed by anything else are reported as corruption at the zeros.
//! Under `always` and `batch` appends are direct synchronous writes where the
//! file system allows it (see [`direct`]), buffered writes plus `fdatasync`
//! elsewhere.
//! Fsync policies: `always` (each durable write is synced before the next step),
//! `batch` (group commit: one sync per driver batch, before any send or reply of
//! it), `never` (records sit in a process buffer flushed about once a second, with
//! no sync: kill -9 loses acknowledged writes; an unsafe mode).

mod direct;

use crate::store::seam::{Stored, Write};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write as _};
use std::marker::PhantomData;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub const WAL_FILE: &str = "wal.log";
pub const SNAPSHOT_FILE: &str = "snapshot.json";
const MAX_RECORD: usize = 1 << 30;
const NEVER_FLUSH_BYTES: usize = 1 << 20;
/// The WAL file grows by this many zero bytes at a time.
pub const CHUNK: u64 = 2 << 20;
const HEADER: usize = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    Always,
    Batch,
    Never,
}

#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: unreadable snapshot: {reason}")]
    Snapshot { path: PathBuf, reason: String },
}

/// A torn or corrupt tail found (and cut off) during recovery.
#[derive(Clone, Debug, PartialEq)]
pub struct Corruption {
    pub path: PathBuf,
    pub offset: u64,
    pub reason: String,
}

impl std::fmt::Display for Corruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: corrupt record at offset {} ({}); recovered the valid prefix and truncated the rest",
            self.path.display(),
            self.offset,
            self.reason
        )
    }
}

/// A WAL of records `R` and snapshots `S`.
pub struct Wal<R, S> {
    dir: PathBuf,
    file: File,
    buf: Vec<u8>,
    policy: FsyncPolicy,
    /// Where the next record goes: the end of the valid log.
    end: u64,
    /// The file's length: `end` up to here is zero padding.
    allocated: u64,
    /// Direct synchronous appends, when syncing and the file system allows.
    direct: Option<direct::DirectTail>,
    _types: PhantomData<fn(R, S)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn frame<R: Serialize>(buf: &mut Vec<u8>, rec: &R) {
    let body = serde_json::to_vec(rec).unwrap_or_default();
    buf.extend_from_slice(&(body.len() as u32).to_le_bytes());
    buf.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    buf.extend_from_slice(&body);
}

/// Parses records from `data`; returns them, the end of the last good one
/// and, if the data ends badly, where and why.
fn parse<R: DeserializeOwned>(data: &[u8]) -> (Vec<R>, u64, Option<(u64, String)>) {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < data.len() {
        let bad = |why: &str| Some((off as u64, why.to_string()));
        if data[off..].iter().all(|b| *b == 0) {
            return (out, off as u64, None); // pre-allocated padding: the end of the log
        }
        if data.len() - off < HEADER {
            return (out, off as u64, bad("truncated record header"));
        }
        let len = u32::from_le_bytes(data[off..off + 4].try_into().unwrap_or_default()) as usize;
        let crc = u32::from_le_bytes(data[off + 4..off + 8].try_into().unwrap_or_default());
        if len == 0 && crc == 0 {
            return (
                out,
                off as u64,
                bad("data after the zero padding that ends the log"),
            );
        }
        if len > MAX_RECORD || data.len() - off - 8 < len {
            return (out, off as u64, bad("truncated record body"));
        }
        let body = &data[off + 8..off + 8 + len];
        if crc32fast::hash(body) != crc {
            return (out, off as u64, bad("CRC mismatch"));
        }
        match serde_json::from_slice(body) {
            Ok(r) => out.push(r),
            Err(e) => {
                let why = format!("undecodable record: {e}");
                return (out, off as u64, Some((off as u64, why)));
            }
        }
        off += HEADER + len;
    }
    (out, off as u64, None)
}

/// What [`Wal::open`] returns: the WAL, what it holds, and a torn tail cut off.
pub type Opened<R, S> = (Wal<R, S>, Stored<R, S>, Option<Corruption>);

impl<R: Serialize + DeserializeOwned, S: Serialize + DeserializeOwned> Wal<R, S> {
    /// Opens (creating) the WAL in `dir` and recovers what it holds.
    pub fn open(dir: &Path, policy: FsyncPolicy) -> Result<Opened<R, S>, WalError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut stored = Stored::default();
        let spath = dir.join(SNAPSHOT_FILE);
        if spath.exists() {
            let text = std::fs::read(&spath).map_err(io(&spath))?;
            let snap: S = serde_json::from_slice(&text).map_err(|e| WalError::Snapshot {
                path: spath.clone(),
                reason: e.to_string(),
            })?;
            stored.snapshot = Some(snap);
        }
        let path = dir.join(WAL_FILE);
        let mut data = Vec::new();
        if path.exists() {
            File::open(&path)
                .and_then(|mut f| f.read_to_end(&mut data))
                .map_err(io(&path))?;
        }
        let (records, end, bad) = parse(&data);
        let corruption = bad.map(|(offset, reason)| Corruption {
            path: path.clone(),
            offset,
            reason,
        });
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        let mut allocated = data.len() as u64;
        if corruption.is_some() {
            // Cut the bad tail; the next write re-grows the file with fresh zeros.
            file.set_len(end).map_err(io(&path))?;
            file.sync_all().map_err(io(&path))?;
            allocated = end;
        }
        stored.log = records;
        let direct = match policy {
            FsyncPolicy::Never => None,
            _ => direct::DirectTail::open(&path, &data, end),
        };
        let wal = Wal {
            dir: dir.to_path_buf(),
            file,
            buf: Vec::new(),
            policy,
            end,
            allocated,
            direct,
            _types: PhantomData,
        };
        Ok((wal, stored, corruption))
    }

    fn path(&self) -> PathBuf {
        self.dir.join(WAL_FILE)
    }

    /// Records one durable write (buffered until [`Wal::commit`], except
    /// under `always`; a snapshot is written and synced at once).
    pub fn write(&mut self, w: &Write<R, S>) -> Result<(), WalError> {
        match w {
            Write::Append(r) => frame(&mut self.buf, r),
            Write::Snapshot { snapshot, log } => return self.install_snapshot(snapshot, log),
        }
        if self.policy == FsyncPolicy::Always {
            self.flush(true)?;
        }
        Ok(())
    }

    /// End of a driver batch: makes buffered records as durable as the policy promises.
    pub fn commit(&mut self) -> Result<(), WalError> {
        match self.policy {
            FsyncPolicy::Always | FsyncPolicy::Batch => self.flush(true),
            FsyncPolicy::Never => {
                if self.buf.len() >= NEVER_FLUSH_BYTES {
                    self.flush(false)
                } else {
                    Ok(())
                }
            }
        }
    }

    fn flush(&mut self, sync: bool) -> Result<(), WalError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let path = self.path();
        let need = self.end + self.buf.len() as u64;
        let direct = sync && self.direct.is_some();
        // A direct write covers whole blocks: keep them inside the allocation.
        let reach = if direct {
            need.div_ceil(direct::BLOCK) * direct::BLOCK
        } else {
            need
        };
        if reach > self.allocated {
            self.grow(reach, sync)?;
        }
        if let Some(d) = self.direct.as_mut().filter(|_| sync) {
            match d.append(self.end, &self.buf) {
                Ok(()) => {
                    self.end = need;
                    self.buf.clear();
                    return Ok(());
                }
                // Alignment refused (a device with larger blocks): buffered from now on.
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => self.direct = None,
                Err(source) => return Err(WalError::Io { path, source }),
            }
        }
        self.file.write_all_at(&self.buf, self.end).map_err(io(&path))?;
        self.end = need;
        self.buf.clear();
        if sync {
            self.file.sync_data().map_err(io(&path))?;
        }
        Ok(())
    }

    /// Grows the file by a chunk ahead of need when less than half a chunk of
    /// padding is left, so the zero-fill and its full sync happen between
    /// batches (the driver calls this after reporting a sync), not inside one.
    pub fn preallocate(&mut self) -> Result<(), WalError> {
        if self.policy == FsyncPolicy::Never || self.allocated - self.end >= CHUNK / 2 {
            return Ok(());
        }
        self.grow(self.allocated + 1, true)
    }

    /// Extends the file with zeroed chunks to cover `need` bytes and (when
    /// syncing) makes the new length and blocks durable, so later appends
    /// into them need only a data sync.
    fn grow(&mut self, need: u64, sync: bool) -> Result<(), WalError> {
        let path = self.path();
        let target = need.div_ceil(CHUNK).max(1) * CHUNK;
        let zeros = vec![0u8; (target - self.allocated) as usize];
        self.file
            .write_all_at(&zeros, self.allocated)
            .map_err(io(&path))?;
        if sync {
            self.file.sync_all().map_err(io(&path))?;
        }
        self.allocated = target;
        Ok(())
    }

    /// Writes the snapshot file, then rewrites the WAL as `log` (each atomically).
    /// A crash between the two leaves the new snapshot with the old log, whose
    /// records the protocol's replay must tolerate (it skips what the snapshot covers).
    fn install_snapshot(&mut self, snap: &S, log: &[R]) -> Result<(), WalError> {
        let sync = self.policy != FsyncPolicy::Never;
        let spath = self.dir.join(SNAPSHOT_FILE);
        let stmp = self.dir.join("snapshot.json.tmp");
        write_file(&stmp, &serde_json::to_vec(snap).unwrap_or_default(), sync)?;
        std::fs::rename(&stmp, &spath).map_err(io(&spath))?;
        let mut data = Vec::new();
        for r in log {
            frame(&mut data, r);
        }
        let path = self.path();
        let wtmp = self.dir.join("wal.log.tmp");
        write_file(&wtmp, &data, sync)?;
        std::fs::rename(&wtmp, &path).map_err(io(&path))?;
        if sync {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(io(&self.dir))?;
        }
        self.buf.clear();
        self.file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(io(&path))?;
        self.end = data.len() as u64;
        self.allocated = self.end;
        if self.direct.is_some() {
            self.direct = direct::DirectTail::open(&path, &data, self.end);
        }
        Ok(())
    }
}

fn write_file(path: &Path, data: &[u8], sync: bool) -> Result<(), WalError> {
    let mut f = File::create(path).map_err(io(path))?;
    f.write_all(data).map_err(io(path))?;
    if sync {
        f.sync_all().map_err(io(path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
