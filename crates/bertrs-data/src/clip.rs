//! A very long text is cut before it is tokenized, so one huge row (a log line pasted into
//! a CSV cell) costs memory near its own size rather than the tokenizer's many copies of it
//! (normalised text, offsets, every piece), and the result stays exactly what truncating
//! the whole text would give.
//!
//! The cut is at a pre-token boundary (before whitespace, an ASCII punctuation mark or a CJK
//! character, where BERT's pre-tokenizer splits anyway), after more than `max_tokens`
//! pre-tokens that each yield at least one token: a run holding a letter or digit (never
//! removed by the normaliser; at worst `[UNK]`), a punctuation mark, or a CJK character. The
//! kept prefix thus tokenizes to the whole text's first tokens, more than any truncation
//! keeps. Other characters (symbols, accents, controls) are not counted, which only moves
//! the cut later.

/// Cuts a row's text, or the longer text of a pair, before tokenizing (see the module docs).
pub(crate) fn clip_row(text: &mut String, pair: Option<&mut String>, max_tokens: usize) {
    let Some(pair) = pair else {
        clip(text, max_tokens);
        return;
    };
    // `longest_first` gives the odd token of a shared budget to the longer text, so a text
    // is cut only when it is certainly the longer one, and stays certainly longer: its
    // counted pre-tokens (a lower bound of its tokens) above the other's upper bound. The
    // normaliser turns one character into at most 4 (NFD, lower-casing), each at most a token.
    let upper = |t: &str| t.chars().count().saturating_mul(4);
    if lower_bound(text) > upper(pair) {
        let keep = max_tokens.max(upper(pair));
        clip(text, keep);
    } else if lower_bound(pair) > upper(text) {
        let keep = max_tokens.max(upper(text));
        clip(pair, keep);
    }
}

/// Cuts `text` after more than `keep` counted pre-tokens; a no-op for shorter texts.
fn clip(text: &mut String, keep: usize) {
    // Fewer bytes than the tokens wanted: nothing to cut, and no need to look.
    if text.len() <= keep {
        return;
    }
    if let Some(at) = scan(text, Some(keep)).1 {
        text.truncate(at);
        text.shrink_to_fit();
    }
}

/// Counted pre-tokens of the whole text: fewer than its tokens, never more.
fn lower_bound(text: &str) -> usize {
    scan(text, None).0
}

/// Counts pre-tokens; with `keep`, stops at the first split point after more than `keep`
/// of them and returns its byte offset.
fn scan(text: &str, keep: Option<usize>) -> (usize, Option<usize>) {
    let (mut count, mut in_run) = (0usize, false);
    for (i, c) in text.char_indices() {
        let splits = c.is_whitespace() || c.is_ascii_punctuation() || is_cjk(c);
        if splits && keep.is_some_and(|k| count > k) {
            return (count, Some(i));
        }
        if c.is_whitespace() {
            in_run = false;
        } else if c.is_ascii_punctuation() || is_cjk(c) {
            count += 1;
            in_run = false;
        } else if is_letter(c) && !in_run {
            count += 1;
            in_run = true;
        }
    }
    (count, None)
}

/// Letters that survive BERT's normaliser as letters (lower-casing, NFD accent stripping,
/// control removal): ASCII letters and digits and whole letter blocks of common scripts.
/// Unicode's `Alphabetic` would also take combining marks, which accent stripping removes.
fn is_letter(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c as u32,
            0xC0..=0xD6 | 0xD8..=0xF6 | 0xF8..=0x24F // Latin-1 and Latin Extended letters
            | 0x388..=0x3FF                           // Greek
            | 0x400..=0x482 | 0x48A..=0x4FF           // Cyrillic
            | 0x5D0..=0x5EA                           // Hebrew
            | 0x621..=0x64A                           // Arabic
            | 0x904..=0x939                           // Devanagari
            | 0x3041..=0x3096 | 0x30A1..=0x30FA       // Hiragana, Katakana
            | 0xAC00..=0xD7A3)                        // Hangul syllables
}

/// The CJK ideograph blocks BERT's `_is_chinese_char` spaces out (each is its own token).
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F
        | 0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_cuts_only_the_text_that_is_certainly_longer() {
        let (mut a, mut b) = ("w ".repeat(1000), "x y".to_string());
        clip_row(&mut a, Some(&mut b), 4);
        assert_eq!((a.len(), b.as_str()), ("w ".repeat(13).len() - 1, "x y"), "kept above 4 x 3 characters");
        let (mut a, mut b) = ("w ".repeat(1000), "v ".repeat(900));
        clip_row(&mut a, Some(&mut b), 4);
        assert_eq!((a.len(), b.len()), (2000, 1800), "neither is certainly longer");
    }

    #[test]
    fn cuts_only_long_texts_at_a_boundary() {
        let mut short = "a b c".to_string();
        clip(&mut short, 8);
        assert_eq!(short, "a b c");
        let mut long = "one two three four five six".to_string();
        clip(&mut long, 2);
        assert_eq!(long, "one two three");
        let mut dots = "a.b.c.d.e.f".to_string();
        clip(&mut dots, 3);
        assert_eq!(dots, "a.b.c");
        let mut words = "€€€ €€€ €€€ x".to_string();
        clip(&mut words, 0);
        assert_eq!(words, "€€€ €€€ €€€ x", "runs without a letter are not counted");
    }
}
