//! Issue 3's memory bound: a file streams through the tokenizer, and once tokenized the
//! set needs no more than about twice the file's size. Measured with a counting allocator (`peak_alloc`)
//! (the peak of live heap bytes while reading and tokenizing, above what was live before),
//! on a CSV of real review sentences.

use std::io::Write;

use peak_alloc::PeakAlloc;

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;

/// The tests measure one process-wide peak: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn a_file_tokenized_takes_at_most_twice_its_size() {
    let _one = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = bertrs_assets::Store::from_env().fetch("all-minilm-l6-v2").unwrap();
    let tok = bertrs_tokenizer::BertTokenizer::from_dir(dir).unwrap();
    let rt = bertrs_data::rotten_tomatoes::load().unwrap();
    // ~12 MB: the real training sentences, numbered so no two rows are alike.
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("big.csv");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "text,label").unwrap();
    let mut n = 0usize;
    'fill: for round in 0.. {
        for s in &rt.train {
            let text = s.text.replace('"', "\"\"");
            writeln!(w, "\"{text} ({round})\",{}", bertrs_data::rotten_tomatoes::LABELS[s.label]).unwrap();
            n += 1;
            if n == 100_000 {
                break 'fill;
            }
        }
    }
    drop(w);
    drop(rt);
    let size = std::fs::metadata(&path).unwrap().len() as usize;

    // The encoder's own copy of the vocabulary is a constant, not part of the data.
    let encoder = bertrs_data::Encoder::new(&tok, 128).unwrap();
    let before = ALLOC.current_usage();
    ALLOC.reset_peak_usage();
    let rows = bertrs_data::open_rows(&path, &bertrs_data::Columns::default()).unwrap();
    let (set, map) = encoder.training(&path, rows, &bertrs_data::LabelOptions::default()).unwrap();
    let peak = ALLOC.peak_usage() - before;
    let kept = ALLOC.current_usage() - before;
    assert_eq!((set.len(), map.names.len()), (100_000, 2));
    eprintln!("file {size} bytes; peak while tokenizing {peak} ({:.2}x), kept {kept} ({:.2}x)", peak as f64 / size as f64, kept as f64 / size as f64);
    assert!(peak <= 2 * size, "peak {peak} bytes for a {size}-byte file");
    // The token ids stay, not the texts: beyond 4 bytes a token, less than a quarter of the
    // file's size (spans, labels, the last block's free tail).
    let tokens: usize = (0..set.len()).map(|i| set.length(i)).sum();
    assert!(tokens * 4 <= kept && kept <= tokens * 4 + size / 4, "{tokens} tokens in {kept} bytes");
}

/// Issue 14: one huge row (a 24 MB cell) is cut before the tokenizer sees it, so reading it
/// peaks at a few times the file's size (the CSV reader's growing record buffer and the
/// row's text: 3.4x measured), not at the tokenizer's many copies of the whole text (89x,
/// 2.1 GB, without the cut).
#[test]
fn one_huge_row_costs_about_its_own_size() {
    let _one = SERIAL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = bertrs_assets::Store::from_env().fetch("all-minilm-l6-v2").unwrap();
    let tok = bertrs_tokenizer::BertTokenizer::from_dir(dir).unwrap();
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("huge.csv");
    let text = "a remarkably long review, pasted twice over. ".repeat(530_000);
    std::fs::write(&path, format!("text,label\n\"{text}\",fresh\nshort one,rotten\n")).unwrap();
    drop(text);
    let size = std::fs::metadata(&path).unwrap().len() as usize;
    let encoder = bertrs_data::Encoder::new(&tok, 128).unwrap();
    let before = ALLOC.current_usage();
    ALLOC.reset_peak_usage();
    let rows = bertrs_data::open_rows(&path, &bertrs_data::Columns::default()).unwrap();
    let (set, _) = encoder.training(&path, rows, &bertrs_data::LabelOptions::default()).unwrap();
    let peak = ALLOC.peak_usage() - before;
    eprintln!("file {size} bytes; peak {peak} ({:.2}x)", peak as f64 / size as f64);
    assert_eq!((set.len(), set.length(0)), (2, 128));
    assert!(peak <= 4 * size, "peak {peak} bytes for a {size}-byte file");
}
