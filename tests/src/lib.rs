//! Helpers shared by the workspace-level tests: the device under test, fixture paths,
//! reference tensors written by PyTorch, and tolerant comparison.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bertrs_model::device::BackendChoice;
use burn::tensor::Device;
use safetensors::{Dtype, SafeTensors};

/// The backend under test: `$BERT_TEST_BACKEND` (flex, tch, wgpu), else the default build's.
pub fn backend() -> BackendChoice {
    BackendChoice::under_test().unwrap_or_else(|e| panic!("BERT_TEST_BACKEND: {e}"))
}

pub fn device() -> Device {
    backend().device().unwrap_or_else(|e| panic!("{e}"))
}

/// `<workspace>/fixtures`.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// The all-MiniLM-L6-v2 directory, fetched and verified through the asset store.
pub fn minilm_dir() -> PathBuf {
    bertrs_assets::Store::from_env()
        .fetch("all-minilm-l6-v2")
        .unwrap_or_else(|e| panic!("cannot fetch all-MiniLM-L6-v2: {e}"))
}

/// A tensor from a reference file: shape and values (ints widened to f64 for comparison).
#[derive(Debug, Clone)]
pub struct RefTensor {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

impl RefTensor {
    pub fn as_i64(&self) -> Vec<i64> {
        self.values.iter().map(|v| *v as i64).collect()
    }

    pub fn as_f32(&self) -> Vec<f32> {
        self.values.iter().map(|v| *v as f32).collect()
    }
}

/// Every tensor of a safetensors file written by the reference scripts.
pub fn read_reference(path: &Path) -> HashMap<String, RefTensor> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = SafeTensors::deserialize(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    st.tensors()
        .into_iter()
        .map(|(name, view)| {
            let data = view.data();
            let values: Vec<f64> = match view.dtype() {
                Dtype::F32 => data
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
                    .collect(),
                Dtype::I64 => data
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as f64)
                    .collect(),
                other => panic!("{name}: unexpected dtype {other:?}"),
            };
            (
                name,
                RefTensor {
                    shape: view.shape().to_vec(),
                    values,
                },
            )
        })
        .collect()
}

/// Largest absolute difference; panics on a length mismatch.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len(), "length mismatch");
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Asserts `|a - b| <= tol` element-wise, naming `what` and the worst element.
pub fn assert_close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: {} values, expected {}", got.len(), want.len());
    let (i, d) = got
        .iter()
        .zip(want)
        .map(|(x, y)| (x - y).abs())
        .enumerate()
        .fold((0, 0.0f32), |acc, (i, d)| if d > acc.1 || d.is_nan() { (i, d) } else { acc });
    assert!(
        d <= tol,
        "{what}: max |diff| {d:e} > {tol:e} at {i} (got {}, want {})",
        got[i],
        want[i]
    );
}

/// A float tensor's values.
pub fn values<const D: usize>(t: burn::tensor::Tensor<D>) -> Vec<f32> {
    t.into_data()
        .try_into_vec_as::<f32>()
        .expect("f32 tensor")
}
