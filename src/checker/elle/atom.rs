//! Keys and values of micro-ops, interned to dense `u32` ids.
//!
//! Why: the checker touches millions of (key, value) pairs; comparing and
//! hashing small integers is far cheaper than `serde_json::Value`s. Invariant:
//! an id is stable for the life of one [`Interner`] and maps back to the atom.

use serde_json::Value;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A scalar key or value as it appeared in the history (`1` and `"1"` differ).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Atom {
    Int(i64),
    Str(Box<str>),
    /// Any other scalar (float, bool, big number), kept as its JSON text.
    Other(Box<str>),
}

impl Atom {
    /// Converts a JSON scalar; `None` for null, arrays and objects.
    pub fn from_value(v: &Value) -> Option<Atom> {
        match v {
            Value::Number(n) => Some(match n.as_i64() {
                Some(i) => Atom::Int(i),
                None => Atom::Other(n.to_string().into()),
            }),
            Value::String(s) => Some(Atom::Str(s.trim_start_matches(':').into())),
            Value::Bool(b) => Some(Atom::Other(b.to_string().into())),
            _ => None,
        }
    }

    /// Back to JSON, for anomaly data.
    pub fn to_value(&self) -> Value {
        match self {
            Atom::Int(i) => Value::from(*i),
            Atom::Str(s) | Atom::Other(s) => Value::from(s.as_ref()),
        }
    }
}

impl std::fmt::Display for Atom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Atom::Int(i) => write!(f, "{i}"),
            Atom::Str(s) | Atom::Other(s) => f.write_str(s),
        }
    }
}

/// A small, fast, non-cryptographic hasher (FxHash) for integer keys. The
/// inputs come from the history, not an adversary, so DoS resistance is moot.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    /// A multiply only carries low input bits upwards, and hashbrown indexes
    /// buckets by the low bits: fold the high half down (else packed
    /// `(key << 32) | value` pairs collide on every key).
    fn finish(&self) -> u64 {
        let h = self.0;
        (h ^ (h >> 29)).wrapping_mul(0xbf58_476d_1ce4_e5b9) ^ (h >> 32)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(b as u64);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.write_u64(i as u64)
    }
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64)
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64)
    }
}

/// `HashMap` with [`FxHasher`].
pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Sentinel id meaning "no value" (an empty read, the initial nil, no key).
pub const NONE: u32 = u32::MAX;

/// Interns atoms into dense ids. Integers in a small range skip the map.
#[derive(Default)]
pub struct Interner {
    ids: FxMap<Atom, u32>,
    atoms: Vec<Atom>,
}

impl Interner {
    pub fn intern(&mut self, a: Atom) -> u32 {
        if let Some(&id) = self.ids.get(&a) {
            return id;
        }
        let id = self.atoms.len() as u32;
        self.atoms.push(a.clone());
        self.ids.insert(a, id);
        id
    }

    /// Interns a JSON scalar; `None` if it is not one.
    pub fn intern_value(&mut self, v: &Value) -> Option<u32> {
        Atom::from_value(v).map(|a| self.intern(a))
    }

    pub fn atom(&self, id: u32) -> Option<&Atom> {
        self.atoms.get(id as usize)
    }

    /// Display text of an id (`nil` for [`NONE`]).
    pub fn show(&self, id: u32) -> String {
        match self.atom(id) {
            Some(a) => a.to_string(),
            None => "nil".into(),
        }
    }

    /// JSON of an id (`null` for [`NONE`]).
    pub fn json(&self, id: u32) -> Value {
        self.atom(id).map(Atom::to_value).unwrap_or(Value::Null)
    }
}

/// Packs a (key, value) pair into one map key.
pub fn pack(key: u32, val: u32) -> u64 {
    ((key as u64) << 32) | val as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ints_and_strings_stay_distinct() {
        let mut i = Interner::default();
        let a = i.intern_value(&json!(1)).unwrap();
        let b = i.intern_value(&json!("1")).unwrap();
        assert_ne!(a, b);
        assert_eq!(i.intern_value(&json!(1)), Some(a));
        assert_eq!(i.intern_value(&json!(":x")), i.intern_value(&json!("x")));
        assert_eq!(i.intern_value(&json!(null)), None);
        assert_eq!(i.show(a), "1");
        assert_eq!(i.json(NONE), json!(null));
    }
}
