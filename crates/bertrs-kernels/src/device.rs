//! Picking a device by backend name. Which backends exist is decided by cargo features
//! (`flex` by default, `tch`, `wgpu`); the model code is the same on all of them.
//! Always pick explicitly: burn's `Device::default()` prefers a GPU backend when one is
//! compiled in, so a `wgpu` build would silently run on a software rasteriser.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

use crate::Error;

type Result<T> = std::result::Result<T, Error>;

/// A backend this build may have compiled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendChoice {
    /// burn-flex: pure-Rust CPU, no set-up.
    Flex,
    /// libtorch CPU (or CUDA with `tch-cuda:N`).
    Tch,
    /// libtorch CUDA device N.
    TchCuda(usize),
    /// wgpu on the best adapter (Vulkan/Metal/DX12; lavapipe on a CPU-only Linux box).
    Wgpu,
}

impl BackendChoice {
    /// The backends compiled into this build, the default first.
    pub fn compiled() -> Vec<BackendChoice> {
        let mut v = Vec::new();
        if cfg!(feature = "flex") {
            v.push(BackendChoice::Flex);
        }
        if cfg!(feature = "tch") {
            v.push(BackendChoice::Tch);
        }
        if cfg!(feature = "wgpu") {
            v.push(BackendChoice::Wgpu);
        }
        v
    }

    /// `flex` when compiled in, else the first compiled backend.
    pub fn default_compiled() -> Option<BackendChoice> {
        Self::compiled().into_iter().next()
    }

    /// The backend a test suite runs on: `$BERT_TEST_BACKEND` (`cargo xtask test` sets it
    /// for each of its passes), else the default compiled one.
    pub fn under_test() -> Result<BackendChoice> {
        match std::env::var("BERT_TEST_BACKEND") {
            Ok(name) => name.parse(),
            Err(_) => Self::default_compiled().ok_or_else(|| Error::Backend("no backend is compiled into this build".into())),
        }
    }

    /// The burn device for this backend, or an error naming the feature to enable.
    pub fn device(self) -> Result<Device> {
        match self {
            #[cfg(feature = "flex")]
            BackendChoice::Flex => Ok(Device::flex()),
            #[cfg(feature = "tch")]
            #[allow(deprecated)] // burn-tch is deprecated upstream but is our libtorch path
            BackendChoice::Tch => Ok(Device::libtorch()),
            #[cfg(feature = "tch")]
            #[allow(deprecated)]
            BackendChoice::TchCuda(i) => Ok(Device::libtorch_cuda(i)),
            #[cfg(feature = "wgpu")]
            BackendChoice::Wgpu => Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice)),
            #[allow(unreachable_patterns)]
            other => Err(Error::Backend(format!(
                "backend `{other}` is not compiled into this build; rebuild with `--features {}` \
                 (compiled: {})",
                other.feature(),
                Self::compiled()
                    .iter()
                    .map(|b| b.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    fn feature(self) -> &'static str {
        match self {
            BackendChoice::Flex => "flex",
            BackendChoice::Tch | BackendChoice::TchCuda(_) => "tch",
            BackendChoice::Wgpu => "wgpu",
        }
    }
}

/// `f` over `items` (independent inference batches), the results in `items`' order.
///
/// On flex several run at once, one per rayon thread: each batch's own ops (GEMMs, our
/// kernels) use the same pool, so a thread waiting on a batch's parallel op steals another
/// batch's work instead of idling at the op's join (the serial stretches between ops —
/// gather/scatter, small elementwise ops — stop costing a core). Every batch's result is the
/// same bits either way: no op's arithmetic depends on the thread count. On libtorch's CPU
/// device likewise, one batch per core (`tch_one_op_thread`). A GPU runs one stream: there
/// they run one after another.
pub fn map_batches<T, R, E>(device: &Device, items: &[T], f: impl Fn(&T) -> std::result::Result<R, E> + Sync) -> std::result::Result<Vec<R>, E>
where
    T: Sync,
    R: Send,
    E: Send,
{
    // One item: nothing to run beside it (and libtorch keeps its intra-op threads).
    if items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    let probe = burn::tensor::Tensor::<1>::zeros([1], device);
    #[cfg(feature = "flex")]
    if crate::Kernels::of(&probe) == crate::Kernels::Flex {
        use rayon::prelude::*;
        return items.par_iter().map(&f).collect();
    }
    #[cfg(feature = "tch")]
    if crate::tch_tensor::is_cpu_f32_any(&probe) {
        return tch_one_op_thread(|| {
            use rayon::prelude::*;
            items.par_iter().map(&f).collect()
        });
    }
    drop(probe);
    items.iter().map(f).collect()
}

/// How many pieces (shards) a training batch of `examples` is split into, to run side by side
/// as [`map_batches`] runs inference batches (each shard its own forward and backward, the
/// gradients summed). On flex and libtorch's CPU device: one shard per
/// [`TRAINING_SHARD_EXAMPLES`] examples, a rule of the batch alone, so the shards (and with
/// them each shard's dropout stream) are the same on every machine whatever its core count.
/// Their dropout masks are made on the host from each shard's stream (`with_dropout_stream`),
/// which a libtorch-only build (without flex's host kernels) lacks: there, and on GPUs (one
/// stream of work, and masks from the device's generator, which shards at once would draw
/// from in a different order on every run), one shard.
pub fn training_shards(device: &Device, examples: usize) -> usize {
    #[cfg(feature = "flex")]
    {
        let probe = burn::tensor::Tensor::<1>::zeros([1], device);
        #[cfg(feature = "tch")]
        let host = crate::Kernels::of(&probe) == crate::Kernels::Flex || crate::tch_tensor::is_cpu_f32_any(&probe);
        #[cfg(not(feature = "tch"))]
        let host = crate::Kernels::of(&probe) == crate::Kernels::Flex;
        if host {
            return examples.div_ceil(TRAINING_SHARD_EXAMPLES).max(1);
        }
    }
    let _ = (device, examples);
    1
}

/// The examples per shard of a training batch on flex and libtorch's CPU device
/// ([`training_shards`]). Two shards of 16 trained a batch of 32 fastest on two cores
/// (46.4–53.9 examples/s; four of 8: 36.5–40.0; one: 32.8–33.8).
pub const TRAINING_SHARD_EXAMPLES: usize = 16;

/// libtorch on the CPU: runs `work` (batches on rayon's threads) with libtorch's intra-op
/// pool at one thread, so each batch's ops run on its own core instead of every op splitting
/// over all of them and meeting at each op's end; the setting is process-wide and restored
/// after. libtorch is called from several threads at once as PyTorch's inter-op parallelism
/// does. MKL's GEMMs may round differently on one thread than on several, so results match a
/// one-at-a-time run within float rounding, not bit for bit.
#[cfg(feature = "tch")]
fn tch_one_op_thread<R>(work: impl FnOnce() -> R) -> R {
    let threads = tch::get_num_threads();
    // With one rayon thread the batches run one after another: libtorch keeps its threads.
    if threads <= 1 || rayon::current_num_threads() <= 1 {
        return work();
    }
    tch::set_num_threads(1);
    let out = work();
    tch::set_num_threads(threads);
    out
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendChoice::Flex => f.write_str("flex"),
            BackendChoice::Tch => f.write_str("tch"),
            BackendChoice::TchCuda(i) => write!(f, "tch-cuda:{i}"),
            BackendChoice::Wgpu => f.write_str("wgpu"),
        }
    }
}

impl FromStr for BackendChoice {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "flex" | "cpu" => Ok(BackendChoice::Flex),
            "tch" | "libtorch" => Ok(BackendChoice::Tch),
            "wgpu" => Ok(BackendChoice::Wgpu),
            _ => match s.strip_prefix("tch-cuda:").or(s.strip_prefix("cuda:")) {
                Some(i) => i
                    .parse()
                    .map(BackendChoice::TchCuda)
                    .map_err(|_| Error::Backend(format!("bad CUDA index in backend {s:?}"))),
                None => Err(Error::Backend(format!(
                    "unknown backend {s:?} (expected flex, tch, tch-cuda:N or wgpu)"
                ))),
            },
        }
    }
}
