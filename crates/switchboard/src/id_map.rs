//! Maps keyed by ids this side hands out itself (request ids, handler ids).
//!
//! Such ids are sequential integers no peer chooses, so there is nothing to defend against
//! with SipHash: a multiply spreads them well and costs a fraction of it. Never use this for
//! keys a peer controls.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map from our own `u64` ids.
pub(crate) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing of one `u64`.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0 << 8 | u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
