//! Which reads held which element: one flat, counting-sorted array over a key's reads, so
//! judging an element is a binary search, not a scan of every read.

use super::elem::Interner;
use super::strays::Strays;
use super::Read;

/// For each element, the ranks of the reads that hold it, ascending, in one flat array
/// (CSR: element `id`'s ranks are `flat[offsets[id]..offsets[id + 1]]`).
pub(super) struct Presence {
    offsets: Vec<usize>,
    flat: Vec<u32>,
}

impl Presence {
    /// Resolves the ids read by each read, then counting-sorts them by element. Also
    /// returns the number of reads that were not lists and the elements no add wrote.
    pub(super) fn of(reads: &[Read], ids: &Interner, n_elems: usize) -> (Presence, usize, Strays) {
        let mut malformed = 0;
        let total: usize = reads
            .iter()
            .filter_map(|r| r.span.value.as_array().map(Vec::len))
            .sum();
        let mut occ: Vec<u32> = Vec::with_capacity(total);
        let mut bounds: Vec<usize> = vec![0];
        let mut strays = Strays::default();
        for (rank, r) in reads.iter().enumerate() {
            match r.span.value.as_array() {
                Some(items) => {
                    for (pos, x) in items.iter().enumerate() {
                        match ids.get(x) {
                            Some(id) => occ.push(id),
                            None => strays.push(x, rank, pos),
                        }
                    }
                }
                None => malformed += 1,
            }
            bounds.push(occ.len());
        }
        (Presence::sorted(&occ, &bounds, n_elems), malformed, strays)
    }

    /// Counting sort of the (read rank, element) pairs in `occ` (read `rank`'s ids are
    /// `occ[bounds[rank]..bounds[rank + 1]]`), each element counted once per read.
    fn sorted(occ: &[u32], bounds: &[usize], n_elems: usize) -> Presence {
        let n_reads = bounds.len() - 1;
        let mut offsets = vec![0usize; n_elems + 1];
        let mut last_rank = vec![u32::MAX; n_elems];
        for rank in 0..n_reads {
            for &id in &occ[bounds[rank]..bounds[rank + 1]] {
                if last_rank[id as usize] != rank as u32 {
                    last_rank[id as usize] = rank as u32;
                    offsets[id as usize + 1] += 1;
                }
            }
        }
        for i in 0..n_elems {
            offsets[i + 1] += offsets[i];
        }
        let mut flat = vec![0u32; offsets[n_elems]];
        let mut fill = offsets.clone();
        last_rank.fill(u32::MAX);
        for rank in 0..n_reads {
            for &id in &occ[bounds[rank]..bounds[rank + 1]] {
                if last_rank[id as usize] != rank as u32 {
                    last_rank[id as usize] = rank as u32;
                    flat[fill[id as usize]] = rank as u32;
                    fill[id as usize] += 1;
                }
            }
        }
        Presence { offsets, flat }
    }

    /// The ranks of the reads holding element `id`, ascending.
    pub(super) fn of_elem(&self, id: usize) -> &[u32] {
        &self.flat[self.offsets[id]..self.offsets[id + 1]]
    }
}
