//! Reading HF weight files into a name → tensor table (PyTorch's "state dict"; a training
//! `checkpoint-N/` directory is `bertrs-train`'s), with HF's key normalisation
//! (`PreTrainedModel._fix_state_dict_key_on_load`: legacy `gamma`/`beta` → `weight`/`bias`)
//! and the base-model prefix (`bert.`) made optional, as `from_pretrained` does.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use safetensors::{Dtype, SafeTensors};

use crate::{Error, Result};

/// One tensor from a checkpoint, already converted to f32.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The key as it is written in the file (for messages).
    pub key: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// The tensors of one weight file (or a sharded set), keyed by their normalised name (no `bert.` prefix).
#[derive(Debug)]
pub struct StateDict {
    path: PathBuf,
    entries: BTreeMap<String, Entry>,
    /// Normalised names handed out so far, to report the unused ones as HF does.
    used: Mutex<BTreeSet<String>>,
}

impl StateDict {
    /// Reads a `.safetensors` file.
    pub fn from_safetensors(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let bytes = std::fs::read(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        Self::from_safetensors_bytes(&bytes, path)
    }

    /// Parses safetensors bytes; `path` is only used in messages.
    pub fn from_safetensors_bytes(bytes: &[u8], path: PathBuf) -> Result<Self> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| Error::Safetensors {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let mut ckpt = Self::empty(path);
        for (key, view) in st.tensors() {
            let dtype = match view.dtype() {
                Dtype::F32 => Some(Float::F32),
                Dtype::F16 => Some(Float::F16),
                Dtype::BF16 => Some(Float::BF16),
                _ => None,
            };
            ckpt.insert(key, dtype, format!("{:?}", view.dtype()), view.shape().to_vec(), view.data())?;
        }
        Ok(ckpt)
    }

    /// Reads a PyTorch `pytorch_model.bin` (a pickled state dict, zip or legacy format)
    /// without Python, through burn's `pytorch-reader`.
    pub fn from_pytorch(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let bad = |message: String| Error::Pytorch {
            path: path.clone(),
            message,
        };
        let reader = pytorch_reader::PytorchReader::new(&path).map_err(|e| bad(e.to_string()))?;
        let mut ckpt = Self::empty(path.clone());
        for (key, t) in reader.into_tensors() {
            use pytorch_reader::DType as P;
            let dtype = match t.dtype() {
                P::F32 => Some(Float::F32),
                P::F16 => Some(Float::F16),
                P::BF16 => Some(Float::BF16),
                _ => None,
            };
            // Buffers such as `position_ids` are skipped before their bytes are read.
            if key.ends_with("position_ids") {
                continue;
            }
            let bytes = t.read().map_err(|e| bad(e.to_string()))?;
            ckpt.insert(key, dtype, format!("{:?}", t.dtype()), t.shape().to_vec(), &bytes)?;
        }
        Ok(ckpt)
    }

    fn empty(path: PathBuf) -> Self {
        Self {
            path,
            entries: BTreeMap::new(),
            used: Mutex::new(BTreeSet::new()),
        }
    }

    /// Adds one tensor under its normalised name.
    fn insert(&mut self, key: String, dtype: Option<Float>, dtype_name: String, shape: Vec<usize>, data: &[u8]) -> Result<()> {
        // `position_ids` is a buffer (I64 arange), not a weight; HF ignores it on load.
        if key.ends_with("position_ids") {
            return Ok(());
        }
        let values = dtype.map(|d| decode(d, data)).ok_or_else(|| Error::Dtype {
            path: self.path.clone(),
            key: key.clone(),
            dtype: dtype_name,
        })?;
        let name = normalise(&key);
        self.entries.insert(name, Entry { key, shape, values });
        Ok(())
    }

    /// Adds the tensors of another file (a shard, or a separately stored head).
    pub fn extend(&mut self, other: StateDict) {
        self.entries.extend(other.entries);
    }

    /// Reads every shard listed in an HF `model.safetensors.index.json`.
    pub fn from_safetensors_index(index: impl AsRef<Path>) -> Result<Self> {
        let index = index.as_ref();
        let bad = |message: String| Error::Safetensors {
            path: index.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(index).map_err(|source| Error::Read {
            path: index.to_path_buf(),
            source,
        })?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("index is not JSON: {e}")))?;
        let map = json["weight_map"]
            .as_object()
            .ok_or_else(|| bad("no `weight_map` object".into()))?;
        let shards: BTreeSet<&str> = map.values().filter_map(|v| v.as_str()).collect();
        let dir = index.parent().unwrap_or(Path::new("."));
        let mut all: Option<StateDict> = None;
        for shard in shards {
            // A shard is a file of the checkpoint's own directory: an index must not point
            // elsewhere (`../`, an absolute path), as huggingface_hub refuses too.
            let inside = !shard.is_empty()
                && !Path::new(shard).is_absolute()
                && shard.split(['/', '\\']).all(|c| !c.is_empty() && c != "." && c != "..");
            if !inside {
                return Err(bad(format!("`weight_map` names the shard `{shard}`, which is not a file of this directory")));
            }
            let ckpt = Self::from_safetensors(dir.join(shard))?;
            match &mut all {
                Some(a) => a.extend(ckpt),
                None => all = Some(ckpt),
            }
        }
        let mut all = all.ok_or_else(|| bad("`weight_map` lists no files".into()))?;
        all.path = index.to_path_buf();
        Ok(all)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a normalised name is present.
    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// A tensor's shape and values (as f32) by normalised name, for inspection.
    pub fn tensor(&self, name: &str) -> Option<(&[usize], &[f32])> {
        self.entries.get(name).map(|e| (e.shape.as_slice(), e.values.as_slice()))
    }

    /// Takes a tensor by normalised name, checking its shape.
    pub(crate) fn take(&self, name: &str, shape: &[usize]) -> Result<&Entry> {
        let entry = self.entries.get(name).ok_or_else(|| Error::MissingKey {
            path: self.path.clone(),
            key: name.to_string(),
        })?;
        if entry.shape != shape {
            return Err(Error::Shape {
                path: self.path.clone(),
                key: entry.key.clone(),
                expected: shape.to_vec(),
                found: entry.shape.clone(),
            });
        }
        if let Ok(mut used) = self.used.lock() {
            used.insert(name.to_string());
        }
        Ok(entry)
    }

    /// Keys in the file that no module asked for (e.g. a pre-training head), as written.
    pub fn unused_keys(&self) -> Vec<String> {
        let used = self.used.lock().map(|u| u.clone()).unwrap_or_default();
        self.entries
            .iter()
            .filter(|(n, _)| !used.contains(*n))
            .map(|(_, e)| e.key.clone())
            .collect()
    }
}

/// `bert.encoder.layer.0.attention.output.LayerNorm.gamma` → `encoder.layer.0.attention.output.LayerNorm.weight`.
fn normalise(key: &str) -> String {
    let key = key.strip_prefix("bert.").unwrap_or(key);
    if let Some(stem) = key.strip_suffix(".gamma") {
        format!("{stem}.weight")
    } else if let Some(stem) = key.strip_suffix(".beta") {
        format!("{stem}.bias")
    } else {
        key.to_string()
    }
}

/// The float types a checkpoint may store weights in; all are widened to f32.
#[derive(Debug, Clone, Copy)]
enum Float {
    F32,
    F16,
    BF16,
}

/// Little-endian bytes (safetensors; pytorch-reader gives native order, little on every
/// platform we build for) to f32.
fn decode(dtype: Float, data: &[u8]) -> Vec<f32> {
    let words = |n: usize| data.chunks_exact(n);
    match dtype {
        Float::F32 => words(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
        Float::F16 => words(2).map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
        Float::BF16 => words(2).map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalised_like_hf() {
        assert_eq!(normalise("bert.embeddings.LayerNorm.gamma"), "embeddings.LayerNorm.weight");
        assert_eq!(normalise("encoder.layer.1.output.LayerNorm.beta"), "encoder.layer.1.output.LayerNorm.bias");
        assert_eq!(normalise("classifier.weight"), "classifier.weight");
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let e = StateDict::from_safetensors_bytes(b"not a safetensors file", "x.safetensors".into())
            .unwrap_err();
        assert!(matches!(e, Error::Safetensors { .. }), "{e}");
        assert!(e.to_string().contains("x.safetensors"));
    }
}
