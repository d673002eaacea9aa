//! The `random` argument of [`plan`](super::plan), for servers that need a cheap source of it.

use std::sync::atomic::{AtomicU64, Ordering};

/// SplitMix64's increment: the golden ratio, as a 64-bit fraction.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// A source of the `random` argument of [`plan`](super::plan) that every thread of a server
/// shares: the SplitMix64 sequence (Steele, Lea and Flood, "Fast splittable pseudorandom
/// number generators", OOPSLA 2014) over one atomic state.
///
/// The library reads no RNG, so the server seeds it once: from the operating system, or with a
/// fixed value to replay a run. Its statistical quality is what weighted backends and mirror
/// shares need; it is predictable, so never use it for secrets. A draw is one atomic addition
/// and a few multiplications, and never blocks. [`plan`](super::plan) derives each mirror's
/// draw from the same sequence function.
///
/// # Examples
/// ```
/// use gateway_core::plan::SplitMix64;
///
/// let draws = SplitMix64::new(0);
/// assert_eq!(draws.draw(), 0xE220_A839_7B1D_CDAF); // the reference sequence from state 0
/// assert_eq!(draws.draw(), 0x6E78_9E6A_A1B9_65F4);
/// ```
#[derive(Debug)]
pub struct SplitMix64 {
    state: AtomicU64,
}

impl SplitMix64 {
    /// A sequence that starts after `seed`.
    pub const fn new(seed: u64) -> Self {
        Self {
            state: AtomicU64::new(seed),
        }
    }

    /// The next value of the sequence.
    #[inline]
    pub fn draw(&self) -> u64 {
        let state = self.state.fetch_add(GAMMA, Ordering::Relaxed);
        mix(state.wrapping_add(GAMMA))
    }
}

/// The `index + 1`-th value of the SplitMix64 sequence that starts after `seed`.
pub(super) fn nth(seed: u64, index: u64) -> u64 {
    mix(seed.wrapping_add(index.wrapping_add(1).wrapping_mul(GAMMA)))
}

/// SplitMix64's output function.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
