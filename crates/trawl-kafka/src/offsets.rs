//! Which offsets may be committed: the highest offset per partition of each batch handed out,
//! released once the batch is written, and only for partitions this member still owns.
//!
//! Shared between the source and the rebalance callbacks; both run on the task that polls the
//! consumer, so the lock is never contended for long.

use std::collections::{BTreeMap, HashMap, HashSet};

/// A topic and partition.
pub(crate) type Tp = (String, i32);

#[derive(Debug, Default)]
pub(crate) struct Offsets {
    owned: HashSet<Tp>,
    /// Highest offsets of the batch being filled.
    filling: HashMap<Tp, i64>,
    /// Batches handed out and not yet written, by token.
    pending: BTreeMap<u64, HashMap<Tp, i64>>,
    /// Written but not yet committed (the commit is under way or failed; retried next time).
    ready: HashMap<Tp, i64>,
    last_token: u64,
}

fn raise(map: &mut HashMap<Tp, i64>, tp: Tp, offset: i64) {
    let e = map.entry(tp).or_insert(offset);
    *e = (*e).max(offset);
}

impl Offsets {
    /// A message of the batch being filled.
    pub fn seen(&mut self, topic: &str, partition: i32, offset: i64) {
        // Cheap path: the entry usually exists already, so skip building a key.
        match self
            .filling
            .iter_mut()
            .find(|((t, p), _)| *p == partition && t == topic)
        {
            Some((_, o)) => *o = (*o).max(offset),
            None => {
                self.filling.insert((topic.to_string(), partition), offset);
            }
        }
    }

    /// Closes the batch being filled; its token.
    pub fn seal(&mut self) -> u64 {
        self.last_token += 1;
        let batch = std::mem::take(&mut self.filling);
        if !batch.is_empty() {
            self.pending.insert(self.last_token, batch);
        }
        self.last_token
    }

    /// Every batch up to `token` was written: the offsets to commit now (next offset to read,
    /// per owned partition).
    pub fn written(&mut self, token: u64) -> Vec<(Tp, i64)> {
        let later = self.pending.split_off(&(token + 1));
        for (_, batch) in std::mem::replace(&mut self.pending, later) {
            for (tp, o) in batch {
                raise(&mut self.ready, tp, o);
            }
        }
        self.ready
            .iter()
            .filter(|(tp, _)| self.owned.contains(*tp))
            .map(|(tp, o)| (tp.clone(), o + 1))
            .collect()
    }

    /// `list` (as returned by [`Offsets::written`]) was committed.
    pub fn committed(&mut self, list: &[(Tp, i64)]) {
        for (tp, next) in list {
            if self.ready.get(tp).is_some_and(|o| *o < *next) {
                self.ready.remove(tp);
            }
        }
    }

    /// Offsets written but not committed for partitions about to be revoked: worth a last
    /// commit while they are still ours.
    pub fn ready_for(&self, tps: &[Tp]) -> Vec<(Tp, i64)> {
        tps.iter()
            .filter_map(|tp| self.ready.get(tp).map(|o| (tp.clone(), o + 1)))
            .collect()
    }

    /// Partitions given to this member.
    pub fn assign(&mut self, tps: impl IntoIterator<Item = Tp>) {
        self.owned.extend(tps);
    }

    /// Partitions owned now.
    pub fn owned(&self) -> Vec<Tp> {
        self.owned.iter().cloned().collect()
    }

    /// Partitions taken away: their offsets are forgotten, as another member now reads them
    /// from the last committed offset (its records may come twice: at-least-once).
    pub fn revoke(&mut self, tps: &[Tp]) {
        for tp in tps {
            self.owned.remove(tp);
            self.filling.remove(tp);
            self.ready.remove(tp);
            for batch in self.pending.values_mut() {
                batch.remove(tp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> Tp {
        ("t".to_string(), p)
    }

    /// Offsets owning partitions `parts` of topic `t`, with the `(partition, offset)`s of
    /// `seen` sealed into one batch; returns its token too.
    fn sealed(parts: &[i32], seen: &[(i32, i64)]) -> (Offsets, u64) {
        let mut o = Offsets::default();
        o.assign(parts.iter().map(|&p| tp(p)));
        for &(p, offset) in seen {
            o.seen("t", p, offset);
        }
        let a = o.seal();
        (o, a)
    }

    #[test]
    fn commits_highest_offset_plus_one_of_written_batches() {
        let (mut o, a) = sealed(&[0, 1], &[(0, 5), (0, 7), (1, 2)]);
        o.seen("t", 0, 8);
        let b = o.seal();
        let mut c = o.written(a);
        c.sort();
        assert_eq!(c, [(tp(0), 8), (tp(1), 3)]);
        o.committed(&c);
        assert_eq!(o.written(a), []);
        assert_eq!(o.written(b), [(tp(0), 9)]);
    }

    #[test]
    fn failed_commits_are_retried_and_revoked_partitions_never_committed() {
        let (mut o, a) = sealed(&[0, 1], &[(0, 1), (1, 1)]);
        assert_eq!(o.written(a).len(), 2);
        // The commit failed: the next one carries the offsets again.
        o.seen("t", 1, 4);
        let b = o.seal();
        o.revoke(&[tp(0)]);
        assert_eq!(o.ready_for(&[tp(0)]), []);
        assert_eq!(o.written(b), [(tp(1), 5)]);
        o.assign([tp(0)]);
        assert_eq!(o.written(b), [(tp(1), 5)]);
    }

    #[test]
    fn a_batch_revoked_while_in_flight_commits_nothing_for_that_partition() {
        let (mut o, a) = sealed(&[0], &[(0, 3)]);
        o.revoke(&[tp(0)]);
        o.assign([tp(0)]);
        assert_eq!(o.written(a), []);
    }
}
