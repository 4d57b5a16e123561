//! `Strings`: a string interner (string <-> dense `u32` id), built once per
//! check over a partition's values, so model ops and states hold ids that
//! clone, compare and hash in one instruction. Id 0 is always "".

use crate::util::hash::FxHashMap;

/// Interned strings. Invariant: `texts[ids[s]] == s` and ids are dense.
#[derive(Debug, Clone)]
pub struct Strings {
    texts: Vec<Box<str>>,
    ids: FxHashMap<Box<str>, u32>,
    /// Sum of the texts' lengths.
    text_bytes: usize,
}

impl Default for Strings {
    fn default() -> Self {
        let mut s = Strings {
            texts: Vec::new(),
            ids: FxHashMap::default(),
            text_bytes: 0,
        };
        s.intern("");
        s
    }
}

impl Strings {
    /// The id of `s`, added when new (one hash probe when present).
    pub fn intern(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.texts.len() as u32;
        self.texts.push(s.into());
        self.text_bytes += s.len();
        self.ids.insert(s.into(), id);
        id
    }

    /// The text of an id handed out by [`Strings::intern`].
    pub fn get(&self, id: u32) -> &str {
        &self.texts[id as usize]
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Heap bytes held (texts twice, table slots), for memory budgets.
    pub fn heap_bytes(&self) -> usize {
        2 * self.text_bytes + self.texts.capacity() * 16 + self.ids.capacity() * 24
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_dedups() {
        let mut s = Strings::default();
        assert_eq!(s.intern(""), 0);
        let a = s.intern("x 1 0 y");
        let b = s.intern("x 2 0 y");
        assert_ne!(a, b);
        assert_eq!(s.intern("x 1 0 y"), a);
        assert_eq!(s.get(b), "x 2 0 y");
        assert_eq!(s.len(), 3);
    }
}
