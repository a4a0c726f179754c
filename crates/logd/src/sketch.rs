//! Bounded counters for the aggregates: distinct visitors and top lists.
//!
//! [`Distinct`] counts exactly up to [`SPARSE_MAX`] visitors and then turns into a
//! HyperLogLog of 1024 one-byte registers (standard error about 3 %), so a day of a
//! busy site costs at most 1 KiB per counter. [`TopK`] is the Space-Saving algorithm:
//! at most `capacity` keys, and any key with more than `total / capacity` hits is
//! sure to be listed. Both serialize, so a restart continues where it stopped.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Visitors counted exactly before switching to the HyperLogLog.
pub const SPARSE_MAX: usize = 256;
const P: u32 = 10;
const REGISTERS: usize = 1 << P;

/// A stable 64-bit hash (FNV-1a, then a SplitMix64 finaliser): persisted sketches
/// must hash the same way in every run, which the standard library's does not promise.
pub fn hash64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Distinct {
    /// Sorted hashes of the visitors seen.
    Sparse(Vec<u64>),
    /// HyperLogLog registers, hex-encoded on disk.
    Dense(#[serde(with = "hex_bytes")] Vec<u8>),
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct::Sparse(Vec::new())
    }
}

impl Distinct {
    pub fn insert(&mut self, hash: u64) {
        match self {
            Distinct::Sparse(set) => {
                if let Err(at) = set.binary_search(&hash) {
                    set.insert(at, hash);
                    if set.len() > SPARSE_MAX {
                        let mut registers = vec![0u8; REGISTERS];
                        for h in set.iter() {
                            add(&mut registers, *h);
                        }
                        *self = Distinct::Dense(registers);
                    }
                }
            }
            Distinct::Dense(registers) => add(registers, hash),
        }
    }

    pub fn count(&self) -> u64 {
        match self {
            Distinct::Sparse(set) => set.len() as u64,
            Distinct::Dense(registers) => estimate(registers),
        }
    }

    /// A register file of the wrong size read from disk is reset, not trusted.
    pub fn sanitized(self) -> Distinct {
        match self {
            Distinct::Dense(r) if r.len() != REGISTERS => Distinct::default(),
            Distinct::Sparse(mut s) => {
                s.sort_unstable();
                s.dedup();
                s.truncate(SPARSE_MAX);
                Distinct::Sparse(s)
            }
            other => other,
        }
    }
}

fn add(registers: &mut [u8], hash: u64) {
    let index = (hash >> (64 - P)) as usize;
    let rank = ((hash << P) | (1 << (P - 1))).leading_zeros() as u8 + 1;
    if let Some(r) = registers.get_mut(index) {
        *r = (*r).max(rank);
    }
}

fn estimate(registers: &[u8]) -> u64 {
    let m = REGISTERS as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let sum: f64 = registers.iter().map(|r| 2f64.powi(-i32::from(*r))).sum();
    let raw = alpha * m * m / sum;
    let zeros = registers.iter().filter(|r| **r == 0).count();
    let value = if raw <= 2.5 * m && zeros > 0 { m * (m / zeros as f64).ln() } else { raw };
    value.round() as u64
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let text: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        let digits = text.as_bytes();
        if digits.len() % 2 != 0 {
            return Err(serde::de::Error::custom("odd hex length"));
        }
        digits
            .chunks(2)
            .map(|pair| {
                std::str::from_utf8(pair)
                    .ok()
                    .and_then(|p| u8::from_str_radix(p, 16).ok())
                    .ok_or_else(|| serde::de::Error::custom("bad hex digit"))
            })
            .collect()
    }
}

/// Space-Saving top list of at most `capacity` keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TopK {
    capacity: usize,
    keys: Vec<(String, u64)>,
    index: HashMap<String, usize>,
}

/// A listed key and its count (an upper bound once the list has been full).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    pub count: u64,
}

impl TopK {
    pub fn new(capacity: usize) -> TopK {
        TopK { capacity: capacity.max(1), keys: Vec::new(), index: HashMap::new() }
    }

    pub fn add(&mut self, key: &[u8], n: u64) {
        // Keys come from the parser: printable ASCII, so this never allocates a copy.
        let key = String::from_utf8_lossy(key);
        if let Some(&i) = self.index.get(key.as_ref()) {
            if let Some(slot) = self.keys.get_mut(i) {
                slot.1 += n;
            }
            return;
        }
        if self.keys.len() < self.capacity {
            self.index.insert(key.to_string(), self.keys.len());
            self.keys.push((key.into_owned(), n));
            return;
        }
        // Full: the least counted key gives its place (and its count) to the new one.
        let Some((min_at, _)) = self.keys.iter().enumerate().min_by_key(|(_, (_, c))| *c) else {
            return;
        };
        let old = std::mem::replace(&mut self.keys[min_at].0, key.into_owned());
        self.index.remove(&old);
        self.keys[min_at].1 += n;
        self.index.insert(self.keys[min_at].0.clone(), min_at);
    }

    /// The `limit` most counted keys, most first, ties by key.
    pub fn top(&self, limit: usize) -> Vec<Entry> {
        let mut all: Vec<Entry> = self
            .keys
            .iter()
            .map(|(key, count)| Entry { key: key.clone(), count: *count })
            .collect();
        all.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        all.truncate(limit);
        all
    }

    /// Every key, for the state file.
    pub fn entries(&self) -> Vec<Entry> {
        self.top(self.capacity)
    }

    pub fn from_entries(capacity: usize, entries: Vec<Entry>) -> TopK {
        let mut top = TopK::new(capacity);
        for e in entries.into_iter().take(capacity) {
            top.add(e.key.as_bytes(), e.count);
        }
        top
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn distinct_is_exact_while_sparse_and_close_when_dense() {
        let mut d = Distinct::default();
        for i in 0..200u32 {
            d.insert(hash64(&i.to_le_bytes()));
            d.insert(hash64(&i.to_le_bytes()));
        }
        assert_eq!(d.count(), 200);
        for i in 0..20_000u32 {
            d.insert(hash64(&i.to_le_bytes()));
        }
        let n = d.count() as f64;
        assert!((n - 20_000.0).abs() / 20_000.0 < 0.08, "{n}");
        let text = serde_json::to_string(&d).unwrap();
        let back: Distinct = serde_json::from_str(&text).unwrap();
        assert_eq!(back.sanitized(), d);
    }

    #[test]
    fn top_k_keeps_the_heavy_hitters_in_bounded_space() {
        let mut t = TopK::new(10);
        for i in 0..1000u32 {
            t.add(format!("/rare/{i}").as_bytes(), 1);
            t.add(b"/popular", 1);
            if i % 2 == 0 {
                t.add(b"/second", 1);
            }
        }
        let top = t.top(2);
        assert_eq!(top[0].key, "/popular");
        assert_eq!(top[1].key, "/second");
        assert!(t.entries().len() <= 10);
    }
}
