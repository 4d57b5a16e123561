//! The recorder: assigns indices and times, writes each op to history.jsonl
//! and flushes before returning, so a crash leaves a checkable history.

use crate::history::jsonl::Writer;
use crate::history::{History, Op};
use crate::util::clock::monotonic_ns;
use std::path::Path;
use std::sync::Mutex;

struct Inner {
    writer: Option<Writer>,
    ops: Vec<Op>,
    error: Option<String>,
}

pub struct Recorder {
    origin_ns: u64,
    inner: Mutex<Inner>,
}

impl Recorder {
    /// Records to `path` (or only in memory when `None`, for benchmarks).
    pub fn new(path: Option<&Path>, origin_ns: u64) -> std::io::Result<Recorder> {
        let writer = path.map(Writer::create).transpose()?;
        Ok(Recorder {
            origin_ns,
            inner: Mutex::new(Inner {
                writer,
                ops: Vec::new(),
                error: None,
            }),
        })
    }

    pub fn origin_ns(&self) -> u64 {
        self.origin_ns
    }

    /// Nanoseconds since the origin.
    pub fn now(&self) -> u64 {
        monotonic_ns().saturating_sub(self.origin_ns)
    }

    /// Stamps `op` with time and index, writes it (flushed) and keeps it.
    pub fn record(&self, op: Op) -> Op {
        self.record_at(op, self.now())
    }

    /// [`Recorder::record`] at `time_ns` since the origin (the simulator's clock).
    pub fn record_at(&self, mut op: Op, time_ns: u64) -> Op {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        op.time = time_ns;
        op.index = g.ops.len() as u64;
        if let Some(w) = g.writer.as_mut() {
            if let Err(e) = w.append(&mut op) {
                g.error.get_or_insert(e.to_string());
            }
        }
        g.ops.push(op.clone());
        op
    }

    pub fn len(&self) -> usize {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The history so far, and the first write error, if any.
    pub fn snapshot(&self) -> (History, Option<String>) {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (History::new(g.ops.clone()), g.error.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{OpType, Process};

    #[test]
    fn every_op_is_on_disk_when_record_returns() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.jsonl");
        let r = Recorder::new(Some(&p), monotonic_ns()).unwrap();
        let a = r.record(Op::new(
            OpType::Invoke,
            Process::Client(0),
            "read",
            serde_json::Value::Null,
        ));
        let b = r.record(Op::new(
            OpType::Ok,
            Process::Client(0),
            "read",
            serde_json::json!(3),
        ));
        assert_eq!((a.index, b.index), (0, 1));
        assert!(b.time >= a.time);
        let h = crate::history::jsonl::read_file(&p).unwrap();
        assert_eq!(h.ops, vec![a, b]);
    }
}
