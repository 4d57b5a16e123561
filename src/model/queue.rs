//! `fifo-queue`: `enqueue v`; `dequeue` returns the head, or `null` when the
//! queue is empty. An `info` dequeue removes the head if there is one (its
//! result is unknown). State: interned ids, head first.

use super::{drop_unobserved, Interner, Model, ModelError, OpView, Timed};
use crate::util::text::preview;
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueOp {
    Enqueue(u32),
    /// Dequeued this id (0 = found the queue empty).
    Dequeue(u32),
    /// Dequeue with an unknown result.
    DequeueAny,
}

#[derive(Default, Debug)]
pub struct FifoQueue {
    values: Interner,
}

impl Model for FifoQueue {
    type State = Vec<u32>;
    type Op = QueueOp;

    fn name(&self) -> &'static str {
        "fifo-queue"
    }

    fn prepare(&mut self, op: &OpView<'_>) -> Result<Option<QueueOp>, ModelError> {
        match op.f {
            "enqueue" => Ok(Some(QueueOp::Enqueue(self.values.intern(op.arg())))),
            "dequeue" => Ok(Some(match op.result() {
                Some(v) => QueueOp::Dequeue(self.values.intern(v)),
                None => QueueOp::DequeueAny,
            })),
            _ => Err(op.unknown_f("fifo-queue")),
        }
    }

    fn init(&mut self) -> Vec<u32> {
        Vec::new()
    }

    fn step(&mut self, s: &Vec<u32>, op: &QueueOp) -> Option<Vec<u32>> {
        match *op {
            QueueOp::Enqueue(v) => {
                let mut n = s.clone();
                n.push(v);
                Some(n)
            }
            QueueOp::Dequeue(0) => s.is_empty().then(Vec::new),
            QueueOp::Dequeue(v) => (s.first() == Some(&v)).then(|| s[1..].to_vec()),
            QueueOp::DequeueAny => Some(s.get(1..).map(<[u32]>::to_vec).unwrap_or_default()),
        }
    }

    fn state_json(&self, s: &Vec<u32>) -> Value {
        Value::Array(s.iter().map(|&i| self.values.value(i).clone()).collect())
    }

    fn is_pure(&self, op: &QueueOp) -> bool {
        matches!(op, QueueOp::Dequeue(0))
    }

    fn explain(&self, s: &Vec<u32>, op: &QueueOp) -> String {
        match *op {
            QueueOp::Dequeue(v) => format!(
                "the queue is {}, but the dequeue returned {}",
                preview(&self.state_json(s), 200),
                preview(self.values.value(v), 200)
            ),
            _ => "an enqueue is always possible".into(),
        }
    }

    /// An indeterminate enqueue of `v` is seen only by a dequeue that
    /// returned `v`: until then `v` waits behind what was enqueued before
    /// it, and an indeterminate dequeue that took it may be left out with
    /// it. One no such dequeue returning after its invocation could show is
    /// left out (see [`super::reduce`]). Null (id 0) is kept: a dequeue of
    /// null reads as "the queue was empty".
    fn droppable(&self, ops: &[Timed<'_, QueueOp>]) -> Vec<bool> {
        drop_unobserved(
            ops,
            |op| match *op {
                QueueOp::Enqueue(v) if v != 0 => Some(v),
                _ => None,
            },
            |op, see| {
                if let QueueOp::Dequeue(v) = *op {
                    see(v)
                }
            },
        )
    }

    fn state_heap_bytes(&self, s: &Vec<u32>) -> usize {
        s.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order() {
        let mut m = FifoQueue::default();
        let s = m.init();
        let s = m.step(&s, &QueueOp::Enqueue(1)).unwrap();
        let s = m.step(&s, &QueueOp::Enqueue(2)).unwrap();
        assert_eq!(m.step(&s, &QueueOp::Dequeue(2)), None);
        assert_eq!(m.step(&s, &QueueOp::Dequeue(0)), None);
        let s = m.step(&s, &QueueOp::Dequeue(1)).unwrap();
        assert_eq!(s, vec![2]);
        let s = m.step(&s, &QueueOp::DequeueAny).unwrap();
        assert_eq!(m.step(&s, &QueueOp::Dequeue(0)), Some(vec![]));
    }
}
