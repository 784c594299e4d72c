//! `cargo xtask package`: every publishable crate as crates.io would receive it, built from
//! those packaged sources (issue 17).
//!
//! `cargo package --workspace` writes each crate's `.crate` (normalised manifest, path
//! dependencies replaced by versions); then all of them are unpacked into one scratch
//! workspace whose `[patch.crates-io]` points each `bertrs-*` dependency at its packaged
//! copy, and built together. A file a crate needs but does not ship, or a dependency that
//! only resolves through the workspace, fails here as it would after publishing. cargo's own
//! verification builds the crates one after another, each with its own feature set, and so
//! compiles burn once per crate: about 10 minutes on 2 cores against about 4 for one build.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Package uncommitted changes too (a clean checkout, as in CI, needs no flag).
    #[arg(long)]
    pub allow_dirty: bool,
}

/// A workspace member to publish.
#[derive(Debug, PartialEq)]
struct Crate {
    name: String,
    version: String,
}

pub fn run(args: Args) -> Result<()> {
    let (target, crates, others) = members()?;
    let mut cmd = crate::cargo();
    cmd.args(["package", "--workspace", "--no-verify"]);
    for name in &others {
        cmd.args(["--exclude", name]);
    }
    if args.allow_dirty {
        cmd.arg("--allow-dirty");
    }
    crate::status(cmd)?;

    let check = target.join("package-check");
    if check.exists() {
        std::fs::remove_dir_all(&check).with_context(|| format!("cannot clear {}", check.display()))?;
    }
    std::fs::create_dir_all(&check).with_context(|| format!("cannot create {}", check.display()))?;
    for c in &crates {
        let file = target.join("package").join(format!("{}-{}.crate", c.name, c.version));
        let mut tar = Command::new("tar");
        tar.arg("-xzf").arg(&file).arg("-C").arg(&check);
        crate::status(tar)?;
    }
    std::fs::write(check.join("Cargo.toml"), manifest(&crates)).context("writing the scratch workspace's Cargo.toml")?;
    // The workspace's lock: the packaged crates build against the versions the tests ran with.
    std::fs::copy(crate::root().join("Cargo.lock"), check.join("Cargo.lock")).context("copying Cargo.lock")?;

    // Default features (flex): tch needs libtorch and wgpu a driver; those builds are the
    // tests' and gpu-check's. The target directory is shared with the other builds; the
    // packaged crates carry no profile, so this is cargo's plain dev profile, without debug
    // info (faster to build).
    let mut build = crate::cargo();
    build.current_dir(&check).args(["build", "--workspace"]);
    build.env("CARGO_TARGET_DIR", &target).env("CARGO_PROFILE_DEV_DEBUG", "0");
    crate::status(build)?;
    eprintln!("packaged and built from the packages: {}", crates.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "));
    Ok(())
}

/// The target directory, the members to publish, and the names of those that are not.
fn members() -> Result<(PathBuf, Vec<Crate>, Vec<String>)> {
    let mut cmd = crate::cargo();
    cmd.args(["metadata", "--format-version", "1", "--no-deps"]);
    let out = cmd.output().context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).context("reading cargo metadata")?;
    let target = meta["target_directory"].as_str().map(PathBuf::from).context("cargo metadata has no target_directory")?;
    let (mut crates, mut others) = (Vec::new(), Vec::new());
    for p in meta["packages"].as_array().into_iter().flatten() {
        let name = p["name"].as_str().unwrap_or_default().to_string();
        // `publish = false` reads as an empty list of registries.
        if p["publish"].as_array().is_some_and(|r| r.is_empty()) {
            others.push(name);
        } else {
            crates.push(Crate { name, version: p["version"].as_str().unwrap_or_default().to_string() });
        }
    }
    if crates.is_empty() {
        bail!("no publishable crate in the workspace");
    }
    Ok((target, crates, others))
}

/// The scratch workspace: the unpacked crates as members, each `bertrs-*` dependency
/// patched to its packaged copy (crates.io has none of them yet).
fn manifest(crates: &[Crate]) -> String {
    let dir = |c: &Crate| format!("{}-{}", c.name, c.version);
    let members: Vec<String> = crates.iter().map(|c| format!("\"{}\"", dir(c))).collect();
    let mut s = format!("[workspace]\nresolver = \"3\"\nmembers = [{}]\n\n[patch.crates-io]\n", members.join(", "));
    for c in crates {
        s.push_str(&format!("{} = {{ path = \"{}\" }}\n", c.name, dir(c)));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scratch_workspace_patches_every_crate_to_its_package() {
        let crates = [Crate { name: "bertrs-core".into(), version: "0.1.0".into() }, Crate { name: "bertrs-model".into(), version: "0.2.0".into() }];
        assert_eq!(
            manifest(&crates),
            "[workspace]\nresolver = \"3\"\nmembers = [\"bertrs-core-0.1.0\", \"bertrs-model-0.2.0\"]\n\n[patch.crates-io]\n\
             bertrs-core = { path = \"bertrs-core-0.1.0\" }\nbertrs-model = { path = \"bertrs-model-0.2.0\" }\n"
        );
    }
}
