//! numpy's legacy `RandomState` (what scikit-learn's `check_random_state(seed)` returns for an
//! integer seed), as far as the splits need it: the MT19937 stream, `random_interval`, and
//! `shuffle`/`permutation`. With it, `train_test_split`, `StratifiedShuffleSplit` and
//! `GroupShuffleSplit` give scikit-learn's own indices for the same seed
//! (`fixtures/splits.json`, from `scripts/make_split_fixtures.py`).

const N: usize = 624;
const M: usize = 397;

pub(crate) struct RandomState {
    key: [u32; N],
    pos: usize,
}

impl RandomState {
    /// `np.random.RandomState(seed)`: numpy's `mt19937_seed`, Knuth's initialisation (the
    /// seed must fit in 32 bits; numpy raises otherwise).
    pub(crate) fn new(seed: u32) -> RandomState {
        let mut key = [0u32; N];
        key[0] = seed;
        for i in 1..N {
            let prev = key[i - 1];
            key[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        RandomState { key, pos: N }
    }

    /// `mt19937_next32`: the reference generator's next tempered word.
    fn next_u32(&mut self) -> u32 {
        if self.pos == N {
            self.generate();
        }
        let mut y = self.key[self.pos];
        self.pos += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    fn generate(&mut self) {
        const UPPER: u32 = 0x8000_0000;
        const LOWER: u32 = 0x7fff_ffff;
        const MATRIX_A: u32 = 0x9908_b0df;
        for i in 0..N {
            let y = (self.key[i] & UPPER) | (self.key[(i + 1) % N] & LOWER);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.key[i] = self.key[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.pos = 0;
    }

    /// numpy's `random_interval(max)`: uniform in `0..=max` by masking to the smallest
    /// all-ones mask and rejecting values above `max` (32-bit draws while `max` fits).
    fn interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16, 32] {
            mask |= mask >> shift;
        }
        loop {
            let value = if max <= u64::from(u32::MAX) {
                u64::from(self.next_u32()) & mask
            } else {
                ((u64::from(self.next_u32()) << 32) | u64::from(self.next_u32())) & mask
            };
            if value <= max {
                return value;
            }
        }
    }

    /// `RandomState.shuffle` of a 1-D array: Fisher-Yates from the last element down.
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.interval(i as u64) as usize;
            items.swap(i, j);
        }
    }

    /// `RandomState.permutation(n)`: a shuffled `arange(n)`.
    pub(crate) fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut v: Vec<usize> = (0..n).collect();
        self.shuffle(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_mt19937s() {
        // The reference MT19937 (Matsumoto & Nishimura's mt19937ar.c) seeded by
        // init_genrand(5489) starts 3499211612, 581869302, 3890346734; numpy's
        // `RandomState(5489).randint(0, 2**32, dtype=np.uint32)` gives the same words.
        let mut r = RandomState::new(5489);
        assert_eq!([r.next_u32(), r.next_u32(), r.next_u32()], [3_499_211_612, 581_869_302, 3_890_346_734]);
    }

    #[test]
    fn permutations_are_numpys() {
        // `np.random.RandomState(0).permutation(10)` and `RandomState(42).permutation(10)`.
        assert_eq!(RandomState::new(0).permutation(10), vec![2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
        assert_eq!(RandomState::new(42).permutation(10), vec![8, 1, 5, 0, 7, 2, 9, 4, 3, 6]);
        assert!(RandomState::new(7).permutation(0).is_empty());
        assert_eq!(RandomState::new(7).permutation(1), vec![0]);
    }

    #[test]
    fn permutations_match_the_fixture() {
        // Longer ones, past the first 624-word block, from scripts/make_split_fixtures.py.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/splits/splits.json");
        let all: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let cases = all["permutation"].as_array().unwrap();
        assert!(cases.len() >= 6);
        for case in cases {
            let (seed, n) = (case["seed"].as_u64().unwrap(), case["n"].as_u64().unwrap() as usize);
            let want: Vec<usize> = case["indices"].as_array().unwrap().iter().map(|i| i.as_u64().unwrap() as usize).collect();
            assert_eq!(RandomState::new(seed as u32).permutation(n), want, "seed {seed}, n {n}");
        }
    }
}
