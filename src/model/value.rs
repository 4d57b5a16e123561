//! Interning JSON values into dense `u32` ids, so model states and ops are
//! small and compare in one instruction. Id 0 is always `null` (the initial
//! value of a register).

use serde_json::Value;
use std::collections::HashMap;

/// Maps values to ids and back. Integers take a fast path (no allocation).
#[derive(Clone, Debug)]
pub struct Interner {
    ints: HashMap<i64, u32>,
    others: HashMap<String, u32>,
    values: Vec<Value>,
}

impl Default for Interner {
    fn default() -> Self {
        Interner {
            ints: HashMap::new(),
            others: HashMap::new(),
            values: vec![Value::Null],
        }
    }
}

impl Interner {
    /// The id of `v` (0 for null), adding it when new.
    pub fn intern(&mut self, v: &Value) -> u32 {
        match v {
            Value::Null => 0,
            Value::Number(n) if n.is_i64() => {
                let k = n.as_i64().unwrap_or_default();
                if let Some(&id) = self.ints.get(&k) {
                    return id;
                }
                let id = self.values.len() as u32;
                self.values.push(v.clone());
                self.ints.insert(k, id);
                id
            }
            other => {
                let k = other.to_string();
                if let Some(&id) = self.others.get(&k) {
                    return id;
                }
                let id = self.values.len() as u32;
                self.values.push(other.clone());
                self.others.insert(k, id);
                id
            }
        }
    }

    /// The id of `v` if it was interned (null always is: id 0).
    pub fn get(&self, v: &Value) -> Option<u32> {
        match v {
            Value::Null => Some(0),
            Value::Number(n) if n.is_i64() => self.ints.get(&n.as_i64().unwrap_or_default()).copied(),
            other => self.others.get(&other.to_string()).copied(),
        }
    }

    /// Ids handed out so far (null included).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Never: null is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The value of an id (null for unknown ids).
    pub fn value(&self, id: u32) -> &Value {
        self.values.get(id as usize).unwrap_or(&Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn interns_and_resolves() {
        let mut i = Interner::default();
        assert_eq!(i.intern(&json!(null)), 0);
        let a = i.intern(&json!(5));
        let b = i.intern(&json!("5"));
        assert_ne!(a, b);
        assert_eq!(i.intern(&json!(5)), a);
        assert_eq!(i.value(b), &json!("5"));
    }
}
