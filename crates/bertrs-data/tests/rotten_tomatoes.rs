//! The real Rotten Tomatoes file split by the reference rule: the counts and per-split
//! checksums printed by `scripts/rt_checksum.py` (which runs `../shared/reference/rt_split.py`).

use sha2::{Digest, Sha256};

fn digest(rows: &[bertrs_data::rotten_tomatoes::Snippet]) -> String {
    let mut h = Sha256::new();
    for r in rows {
        h.update(format!("{}\t{}\t{}\n", r.label, r.movie, r.text).as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn split_matches_the_reference_rule() {
    let s = bertrs_data::rotten_tomatoes::load().unwrap();
    assert_eq!((s.train.len(), s.validation.len(), s.test.len()), (10_451, 981, 1_320));
    assert_eq!(digest(&s.train), "01e6273c4449d2118db9510d0a9ff7cfc91b14937821d6abd4110bca3760b033");
    assert_eq!(digest(&s.validation), "154fa4a6aad2f9af1ba69faa14314c518fcc3a3266eef452ef8364f4f881be82");
    assert_eq!(digest(&s.test), "f44108898916e964d2693b270ed1fb9f339dc8ad26d4c822c78a78bfb369263e");
    // No movie in two splits.
    let movies = |v: &[bertrs_data::rotten_tomatoes::Snippet]| v.iter().map(|r| r.movie.clone()).collect::<std::collections::HashSet<_>>();
    assert!(movies(&s.train).is_disjoint(&movies(&s.validation)));
    assert!(movies(&s.train).is_disjoint(&movies(&s.test)));
}
