//! `Keyed<M>`: the whole keyed history as one map-valued state (key -> M's
//! state), for `--no-partition`. Keys are numbered densely as ops are
//! prepared; the state is a boxed slice of per-key states, so a step clones a
//! few words per key and the hash stays cheap.

use super::{Model, ModelError, OpView, Timed};
use crate::util::hash::FxHashMap;
use serde_json::{Map, Value};

#[derive(Debug)]
pub struct Keyed<M: Model> {
    /// Answers per-op questions that need no key's state ([`Model::prepare_late`]).
    proto: M,
    models: Vec<M>,
    names: Vec<String>,
    ids: FxHashMap<String, u32>,
}

impl<M: Model> Default for Keyed<M> {
    fn default() -> Self {
        Keyed {
            proto: M::default(),
            models: Vec::new(),
            names: Vec::new(),
            ids: FxHashMap::default(),
        }
    }
}

impl<M: Model> Model for Keyed<M> {
    type State = Box<[M::State]>;
    type Op = (u32, M::Op);

    fn name(&self) -> &'static str {
        M::default().name()
    }

    fn prepare(&mut self, op: &OpView<'_>) -> Result<Option<Self::Op>, ModelError> {
        let key = op.key.unwrap_or("");
        let id = match self.ids.get(key) {
            Some(&id) => id,
            None => {
                let id = self.models.len() as u32;
                self.models.push(M::default());
                self.names.push(key.to_string());
                self.ids.insert(key.to_string(), id);
                id
            }
        };
        Ok(self.models[id as usize].prepare(op)?.map(|o| (id, o)))
    }

    fn init(&mut self) -> Self::State {
        self.models.iter_mut().map(|m| m.init()).collect()
    }

    fn step(&mut self, s: &Self::State, (k, op): &Self::Op) -> Option<Self::State> {
        let k = *k as usize;
        let next = self.models[k].step(&s[k], op)?;
        let mut n = s.clone();
        n[k] = next;
        Some(n)
    }

    fn state_json(&self, s: &Self::State) -> Value {
        let mut m = Map::new();
        for (i, st) in s.iter().enumerate() {
            m.insert(self.names[i].clone(), self.models[i].state_json(st));
        }
        Value::Object(m)
    }

    fn is_pure(&self, (k, op): &Self::Op) -> bool {
        self.models[*k as usize].is_pure(op)
    }

    fn explain(&self, s: &Self::State, (k, op): &Self::Op) -> String {
        let k = *k as usize;
        format!("key {:?}: {}", self.names[k], self.models[k].explain(&s[k], op))
    }

    fn has_dead(&self) -> bool {
        self.models.iter().any(|m| m.has_dead())
    }

    fn dead(&self, s: &Self::State, (k, op): &Self::Op) -> bool {
        let k = *k as usize;
        self.models[k].dead(&s[k], op)
    }

    fn resets(&self, (k, op): &Self::Op) -> bool {
        self.models[*k as usize].resets(op)
    }

    /// A reset on another key leaves this key's state alone.
    fn revives(&self, (kr, reset): &Self::Op, (k, op): &Self::Op) -> bool {
        kr == k && self.models[*k as usize].revives(reset, op)
    }

    fn prepare_late(&self, op: &OpView<'_>) -> bool {
        self.proto.prepare_late(op)
    }

    /// Each key's own reduction: keys never see each other's effects.
    fn droppable(&self, ops: &[Timed<'_, Self::Op>]) -> Vec<bool> {
        let mut by_key: Vec<Vec<usize>> = vec![Vec::new(); self.models.len()];
        for (i, t) in ops.iter().enumerate() {
            by_key[t.op.0 as usize].push(i);
        }
        let mut drop = vec![false; ops.len()];
        for (k, idx) in by_key.iter().enumerate() {
            let inner: Vec<Timed<'_, M::Op>> = idx
                .iter()
                .map(|&i| Timed {
                    op: &ops[i].op.1,
                    call: ops[i].call,
                    ret: ops[i].ret,
                })
                .collect();
            for (j, d) in self.models[k].droppable(&inner).into_iter().enumerate() {
                drop[idx[j]] = d;
            }
        }
        drop
    }

    fn state_heap_bytes(&self, s: &Self::State) -> usize {
        s.iter()
            .zip(&self.models)
            .map(|(x, m)| std::mem::size_of::<M::State>() + m.state_heap_bytes(x))
            .sum()
    }

    fn heap_bytes(&self) -> usize {
        self.models.iter().map(|m| m.heap_bytes()).sum::<usize>()
            + self.names.iter().map(|n| n.len() * 2 + 48).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CasRegister, Outcome};
    use serde_json::json;

    #[test]
    fn keys_are_independent() {
        let mut m = Keyed::<CasRegister>::default();
        let (one, null) = (json!(1), json!(null));
        let mk = |key, f, input, outcome| OpView {
            index: 0,
            key: Some(key),
            f,
            input,
            outcome,
        };
        let wa = m
            .prepare(&mk("a", "write", &one, Outcome::Ok(&one)))
            .unwrap()
            .unwrap();
        let rb = m
            .prepare(&mk("b", "read", &null, Outcome::Ok(&one)))
            .unwrap()
            .unwrap();
        let ra = m
            .prepare(&mk("a", "read", &null, Outcome::Ok(&one)))
            .unwrap()
            .unwrap();
        let s = m.init();
        let s = m.step(&s, &wa).unwrap();
        assert!(m.step(&s, &ra).is_some());
        assert!(m.step(&s, &rb).is_none());
        assert_eq!(m.state_json(&s), json!({"a": 1, "b": null}));
    }
}
