//! Tokenize once: rows stream from a reader through the tokenizer in chunks, and only the
//! token ids stay, packed (4 bytes a token, 16 bytes a row, 4 a label), so a file's
//! tokenized form takes about its own size in memory. The texts are dropped chunk by chunk.

use std::collections::HashMap;
use std::path::Path;

use bertrs_tokenizer::{BertTokenizer, EncodeOptions, Input, Padding, Prepared};

use bertrs_core::{LabelMap, ProblemType, Target};

use crate::labels::{LabelOptions, RawLabel};
use crate::{Error, Result, Row};

/// Token ids live in blocks of this many: a block never moves once allocated, so growing
/// the set never holds two copies of it (a `Vec` doubling would, briefly, three times).
const BLOCK: usize = 1 << 18;

/// Rows tokenized per call of the (parallel) tokenizer.
const CHUNK: usize = 1024;

/// Where one row's ids are, and where its second text starts (`len` when it has none).
#[derive(Debug, Clone, Copy)]
struct Span {
    block: u32,
    start: u32,
    len: u32,
    pair_at: u32,
}

/// FNV-1a over little-endian words.
struct Fnv(u64);

impl Fnv {
    fn word(&mut self, w: u64) {
        for b in w.to_le_bytes() {
            self.0 = (self.0 ^ b as u64).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// Targets by row, in the most compact form of their kind.
#[derive(Debug, Clone)]
enum Targets {
    None,
    Class(Vec<u32>),
    Labels(Vec<Vec<u32>>),
    Value(Vec<f32>),
}

/// A tokenized dataset: ids without padding, targets, and (optionally) a group per row.
#[derive(Debug, Clone)]
pub struct Encoded {
    blocks: Vec<Vec<u32>>,
    spans: Vec<Span>,
    targets: Targets,
    /// The head's outputs the targets are for (`LabelMap::num_labels`); 0 when unlabelled.
    num_labels: usize,
    /// Interned group ids and their names.
    groups: Option<(Vec<u32>, Vec<String>)>,
    pub(crate) pad_id: u32,
    pub(crate) pad_to_multiple_of: Option<usize>,
}

impl Encoded {
    fn empty(pad_id: u32) -> Self {
        Self { blocks: Vec::new(), spans: Vec::new(), targets: Targets::None, num_labels: 0, groups: None, pad_id, pad_to_multiple_of: None }
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The ids of row `i` (special tokens included, no padding).
    pub fn ids(&self, i: usize) -> &[u32] {
        let s = self.spans[i];
        &self.blocks[s.block as usize][s.start as usize..(s.start + s.len) as usize]
    }

    /// Tokens in row `i`.
    pub fn length(&self, i: usize) -> usize {
        self.spans[i].len as usize
    }

    /// Where row `i`'s second segment (token type 1) starts; its length when it has none.
    pub fn pair_at(&self, i: usize) -> usize {
        self.spans[i].pair_at as usize
    }

    /// Whether any row has a second text (token type 1).
    pub fn has_pairs(&self) -> bool {
        self.spans.iter().any(|s| s.pair_at < s.len)
    }

    pub fn target(&self, i: usize) -> Option<Target> {
        match &self.targets {
            Targets::None => None,
            Targets::Class(c) => Some(Target::Class(c[i] as usize)),
            Targets::Labels(ids) => Some(Target::Labels(ids[i].iter().map(|&l| l as usize).collect())),
            Targets::Value(v) => Some(Target::Value(v[i])),
        }
    }

    /// Class ids of a single-label set (for stratified splits and metrics).
    pub fn classes(&self) -> Option<Vec<usize>> {
        match &self.targets {
            Targets::Class(c) => Some(c.iter().map(|&c| c as usize).collect()),
            _ => None,
        }
    }

    /// Each row's group (the `Columns::group` column), when one was read.
    pub fn groups(&self) -> Option<Vec<&str>> {
        self.groups.as_ref().map(|(ids, names)| ids.iter().map(|&g| names[g as usize].as_str()).collect())
    }

    /// Pads batches to a multiple of this (HF `pad_to_multiple_of`, e.g. 8 for tensor cores).
    pub fn with_pad_to_multiple_of(mut self, n: Option<usize>) -> Self {
        self.pad_to_multiple_of = n.filter(|&n| n > 1);
        self
    }

    /// Keeps the first `n` rows.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            *self = self.select(&(0..n).collect::<Vec<_>>());
        }
    }

    /// A new set of the rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Self {
        let mut out = Self::empty(self.pad_id);
        out.pad_to_multiple_of = self.pad_to_multiple_of;
        for &i in indices {
            let s = self.spans[i];
            out.push(self.ids(i), s.pair_at as usize);
        }
        out.targets = match &self.targets {
            Targets::None => Targets::None,
            Targets::Class(c) => Targets::Class(indices.iter().map(|&i| c[i]).collect()),
            Targets::Labels(ids) => Targets::Labels(indices.iter().map(|&i| ids[i].clone()).collect()),
            Targets::Value(v) => Targets::Value(indices.iter().map(|&i| v[i]).collect()),
        };
        out.num_labels = self.num_labels;
        out.groups = self.groups.as_ref().map(|(ids, names)| (indices.iter().map(|&i| ids[i]).collect(), names.clone()));
        out
    }

    /// The problem type of the targets; `None` for unlabelled rows.
    pub fn problem_type(&self) -> Option<ProblemType> {
        match &self.targets {
            Targets::None => None,
            Targets::Class(_) => Some(ProblemType::SingleLabelClassification),
            Targets::Labels(_) => Some(ProblemType::MultiLabelClassification),
            Targets::Value(_) => Some(ProblemType::Regression),
        }
    }

    /// Row `i`'s class id (single-label sets).
    pub fn class(&self, i: usize) -> Option<usize> {
        match &self.targets {
            Targets::Class(c) => Some(c[i] as usize),
            _ => None,
        }
    }

    /// Row `i`'s regression target.
    pub fn value(&self, i: usize) -> Option<f32> {
        match &self.targets {
            Targets::Value(v) => Some(v[i]),
            _ => None,
        }
    }

    /// The ids of the labels that apply to row `i` (multi-label sets; empty otherwise).
    pub(crate) fn label_ids(&self, i: usize) -> &[u32] {
        match &self.targets {
            Targets::Labels(ids) => &ids[i],
            _ => &[],
        }
    }

    /// The outputs of the head the targets are for (the multi-hot width of a multi-label
    /// set, the classes of a single-label one, 1 for regression); 0 when unlabelled.
    pub fn num_labels(&self) -> usize {
        self.num_labels
    }

    /// A 64-bit FNV-1a hash of every row's ids, segment boundary and target, in order: equal
    /// for the same examples however they were read, and stable across releases (unlike
    /// std's hasher), so a checkpoint can tell the data it was trained on.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Fnv(0xcbf2_9ce4_8422_2325);
        for i in 0..self.len() {
            h.word(self.length(i) as u64);
            for &id in self.ids(i) {
                h.word(id as u64);
            }
            h.word(self.pair_at(i) as u64);
            match &self.targets {
                Targets::None => {}
                Targets::Class(c) => h.word(c[i] as u64),
                Targets::Labels(ids) => {
                    // Only multi-label rows hash the label count (as they always have:
                    // checkpoints record this fingerprint).
                    h.word(self.num_labels as u64);
                    ids[i].iter().for_each(|&l| h.word(l as u64));
                }
                Targets::Value(v) => h.word(v[i].to_bits() as u64),
            }
        }
        h.0
    }

    fn push(&mut self, ids: &[u32], pair_at: usize) {
        let fits = self.blocks.last().is_some_and(|b| b.len() + ids.len() <= b.capacity());
        if !fits {
            self.blocks.push(Vec::with_capacity(BLOCK.max(ids.len())));
        }
        let block = self.blocks.len() - 1;
        let b = &mut self.blocks[block];
        self.spans.push(Span { block: block as u32, start: b.len() as u32, len: ids.len() as u32, pair_at: pair_at as u32 });
        b.extend_from_slice(ids);
    }
}

/// Turns rows into an [`Encoded`] set with one tokenizer and one `max_length`
/// (truncation `longest_first`, as HF's tokenizer call in run_glue).
#[derive(Debug, Clone)]
pub struct Encoder {
    tokenizer: Prepared,
    pad_id: u32,
    max_length: usize,
}

/// What the first pass keeps of the labels: an id per row into the distinct raw labels.
struct Interned<T> {
    ids: Vec<u32>,
    index: HashMap<T, u32>,
    /// The first line of each distinct value, for messages.
    first_line: Vec<u64>,
}

impl<T: std::hash::Hash + Eq> Interned<T> {
    fn new() -> Self {
        Self { ids: Vec::new(), index: HashMap::new(), first_line: Vec::new() }
    }

    fn push(&mut self, value: T, line: u64) {
        let next = self.index.len() as u32;
        let id = *self.index.entry(value).or_insert(next);
        if id == next {
            self.first_line.push(line);
        }
        self.ids.push(id);
    }

    /// The distinct values by id.
    fn distinct(self) -> (Vec<u32>, Vec<T>, Vec<u64>) {
        let mut values: Vec<(u32, T)> = self.index.into_iter().map(|(v, i)| (i, v)).collect();
        values.sort_unstable_by_key(|(i, _)| *i);
        (self.ids, values.into_iter().map(|(_, v)| v).collect(), self.first_line)
    }
}

impl Encoder {
    /// Fails only for a `max_length` that leaves no room for text (under 3).
    pub fn new(tokenizer: &BertTokenizer, max_length: usize) -> Result<Self> {
        let options = EncodeOptions::default().max_length(max_length).padding(Padding::None);
        Ok(Self { tokenizer: tokenizer.prepare(&options)?, pad_id: tokenizer.pad_id(), max_length })
    }

    /// A training split: the label map is built from its labels (HF run_glue's rule; see
    /// [`LabelOptions::label_map`]), then every row gets its target.
    pub fn training(&self, path: &Path, rows: impl IntoIterator<Item = Result<Row>>, opts: &LabelOptions) -> Result<(Encoded, LabelMap)> {
        let (mut set, labels) = self.pass(path, rows, true)?;
        let (ids, distinct, lines) = labels.distinct();
        let map = opts.label_map(&distinct).map_err(|e| Error::File { path: path.to_path_buf(), message: format!("labels: {e}") })?;
        set.targets = targets(path, &map, opts, ids, &distinct, &lines)?;
        set.num_labels = map.num_labels();
        Ok((set, map))
    }

    /// A split labelled with an existing map (validation, evaluation): a label outside it
    /// is an error naming the first row that has it.
    pub fn labelled(&self, path: &Path, rows: impl IntoIterator<Item = Result<Row>>, map: &LabelMap, opts: &LabelOptions) -> Result<Encoded> {
        let (mut set, labels) = self.pass(path, rows, true)?;
        let (ids, distinct, lines) = labels.distinct();
        set.targets = targets(path, map, opts, ids, &distinct, &lines)?;
        set.num_labels = map.num_labels();
        Ok(set)
    }

    /// Rows without labels (prediction).
    pub fn unlabelled(&self, path: &Path, rows: impl IntoIterator<Item = Result<Row>>) -> Result<Encoded> {
        Ok(self.pass(path, rows, false)?.0)
    }

    fn pass(&self, path: &Path, rows: impl IntoIterator<Item = Result<Row>>, labelled: bool) -> Result<(Encoded, Interned<RawLabel>)> {
        let mut set = Encoded::empty(self.pad_id);
        let mut labels = Interned::new();
        let mut groups: Option<Interned<String>> = None;
        let mut pending: Vec<Row> = Vec::with_capacity(CHUNK);
        for row in rows {
            let mut row = row?;
            // Training and evaluation data need a text; prediction takes what it is given.
            if labelled && row.text.trim().is_empty() {
                return Err(at(path, row.line, "empty text"));
            }
            if labelled {
                match row.label.take() {
                    Some(l) => labels.push(l, row.line),
                    None => return Err(at(path, row.line, "no label")),
                }
            }
            if let Some(g) = row.group.take() {
                groups.get_or_insert_with(Interned::new).push(g, row.line);
            }
            crate::clip::clip_row(&mut row.text, row.text_pair.as_mut(), self.max_length);
            pending.push(row);
            if pending.len() == CHUNK {
                self.tokenize(path, &mut set, &pending)?;
                pending.clear();
            }
        }
        self.tokenize(path, &mut set, &pending)?;
        set.spans.shrink_to_fit();
        set.groups = groups.map(|g| {
            let (ids, names, _) = g.distinct();
            (ids, names)
        });
        Ok((set, labels))
    }

    fn tokenize(&self, path: &Path, set: &mut Encoded, rows: &[Row]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let inputs: Vec<Input> = rows.iter().map(|r| Input { text: &r.text, pair: r.text_pair.as_deref() }).collect();
        let enc = self.tokenizer.encode_batch(&inputs).map_err(|e| {
            at(path, rows[0].line, format!("tokenizing this row and the {} after it: {e}", rows.len() - 1))
        })?;
        for (ids, types) in enc.input_ids.iter().zip(&enc.token_type_ids) {
            let pair_at = types.iter().position(|&t| t == 1).unwrap_or(ids.len());
            set.push(ids, pair_at);
        }
        Ok(())
    }
}

fn at(path: &Path, line: u64, message: impl Into<String>) -> Error {
    Error::At { path: path.to_path_buf(), line, message: message.into() }
}

/// Each distinct raw label turned into a target once, then spread over the rows.
fn targets(path: &Path, map: &LabelMap, opts: &LabelOptions, ids: Vec<u32>, distinct: &[RawLabel], lines: &[u64]) -> Result<Targets> {
    let per_value: Vec<Target> = distinct
        .iter()
        .zip(lines)
        .map(|(raw, &line)| opts.target(map, raw).map_err(|e| at(path, line, e.to_string())))
        .collect::<Result<_>>()?;
    let pick = |i: u32| &per_value[i as usize];
    Ok(match map.problem_type {
        ProblemType::SingleLabelClassification => {
            Targets::Class(ids.iter().map(|&i| if let Target::Class(c) = pick(i) { *c as u32 } else { 0 }).collect())
        }
        ProblemType::MultiLabelClassification => Targets::Labels(
            ids.iter().map(|&i| if let Target::Labels(l) = pick(i) { l.iter().map(|&l| l as u32).collect() } else { Vec::new() }).collect(),
        ),
        ProblemType::Regression => Targets::Value(ids.iter().map(|&i| if let Target::Value(v) = pick(i) { *v } else { 0.0 }).collect()),
    })
}
