//! The hub client against a local HTTP server that serves the hub's URL layout
//! (`/{repo}/resolve/{rev}/{file}`, `X-Repo-Commit`, `ETag`/`X-Linked-Etag`, a CDN redirect
//! for LFS files, `Range`), with faults on demand: a dropped connection mid-file, a corrupted
//! body, a missing file, and no server at all.

#[path = "support/hub_server.rs"]
mod hub_server;

use std::path::Path;
use std::sync::atomic::Ordering;

use bertrs_assets::{Error, Hub, HubDataset, PARQUET_REVISION, Store};
use hub_server::{COMMIT, Server, sha256};

fn weights() -> Vec<u8> {
    (0..300_000u32).flat_map(|i| (i.wrapping_mul(2654435761)).to_le_bytes()).collect()
}

fn hub(server: &Server, cache: &Path) -> Hub {
    Hub::new(server.endpoint(), cache, None)
}

#[test]
fn full_download_writes_the_hf_cache_layout() {
    let w = weights();
    let server = Server::start(&[("org/model/config.json", b"{\"a\": 1}".to_vec()), ("org/model/model.safetensors", w.clone())]);
    let cache = tempfile::tempdir().unwrap();
    let hub = hub(&server, cache.path());
    let cfg = hub.download("org/model", "main", "config.json", &mut |_, _| {}).unwrap();
    let mut seen = (0, None);
    let model = hub.download("org/model", "main", "model.safetensors", &mut |d, t| seen = (d, t)).unwrap();
    let repo = cache.path().join("models--org--model");
    assert_eq!(model, repo.join("snapshots").join(COMMIT).join("model.safetensors"));
    assert_eq!(cfg, repo.join("snapshots").join(COMMIT).join("config.json"));
    assert_eq!(std::fs::read(&model).unwrap(), w);
    assert_eq!(std::fs::read_to_string(repo.join("refs/main")).unwrap(), COMMIT);
    // A relative symlink into blobs/<sha256>, as huggingface_hub makes.
    let target = std::fs::read_link(&model).unwrap();
    assert_eq!(target, Path::new("../../blobs").join(sha256(&w)));
    assert_eq!(seen, (w.len() as u64, Some(w.len() as u64)), "progress reached the announced size");
    // Cached: asked again, nothing is downloaded; and found offline.
    let gets = server.gets();
    hub.download("org/model", "main", "model.safetensors", &mut |_, _| {}).unwrap();
    assert_eq!(server.gets(), gets);
    assert_eq!(hub.cached("org/model", "main", "model.safetensors"), Some(model));
    assert_eq!(hub.cached("org/model", "main", "missing.bin"), None);
}

#[test]
fn a_dropped_connection_resumes_with_a_range_request() {
    let w = weights();
    let server = Server::start(&[("org/model/model.safetensors", w.clone())]);
    server.drop_next_body.store(true, Ordering::SeqCst);
    let cache = tempfile::tempdir().unwrap();
    let path = hub(&server, cache.path()).download("org/model", "main", "model.safetensors", &mut |_, _| {}).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), w);
    let ranges: Vec<String> = server.log().into_iter().filter(|(_, p, _)| p.starts_with("/cdn/")).filter_map(|(_, _, r)| r).collect();
    assert_eq!(ranges, [format!("bytes={}-", w.len() / 3)], "resumed where the first body stopped");
    let blobs: Vec<String> = std::fs::read_dir(cache.path().join("models--org--model/blobs"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".lock"))
        .collect();
    assert_eq!(blobs, [sha256(&w)], "no .incomplete left");
}

#[test]
fn a_corrupted_body_leaves_nothing_valid() {
    let server = Server::start(&[("org/model/model.safetensors", weights())]);
    server.corrupt.store(true, Ordering::SeqCst);
    let cache = tempfile::tempdir().unwrap();
    let hub = hub(&server, cache.path());
    let e = hub.download("org/model", "main", "model.safetensors", &mut |_, _| {}).unwrap_err();
    assert!(matches!(e, Error::Checksum { .. }), "{e}");
    assert!(e.to_string().contains("model.safetensors"), "{e}");
    assert_eq!(hub.cached("org/model", "main", "model.safetensors"), None);
    let repo = cache.path().join("models--org--model");
    let blobs: Vec<_> = std::fs::read_dir(repo.join("blobs")).unwrap().flatten().map(|e| e.file_name()).filter(|n| !n.to_string_lossy().ends_with(".lock")).collect();
    assert!(blobs.is_empty(), "{blobs:?}");
    // Once the server is fixed, the same call succeeds.
    server.corrupt.store(false, Ordering::SeqCst);
    assert!(hub.download("org/model", "main", "model.safetensors", &mut |_, _| {}).is_ok());
}

#[test]
fn a_missing_file_is_a_404_naming_it() {
    let server = Server::start(&[("org/model/config.json", b"{}".to_vec())]);
    let cache = tempfile::tempdir().unwrap();
    let e = hub(&server, cache.path()).download("org/model", "main", "vocab.txt", &mut |_, _| {}).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("404") && msg.contains("/org/model/resolve/main/vocab.txt"), "{msg}");
    // Names that would leave the snapshot directory are refused before any request.
    let gets = server.gets();
    for bad in ["../../escape", "/etc/passwd", "a//b", ""] {
        let e = hub(&server, cache.path()).download("org/model", "main", bad, &mut |_, _| {}).unwrap_err();
        assert!(e.to_string().contains("not a file name"), "{bad}: {e}");
    }
    assert_eq!(server.gets(), gets);
}

#[test]
fn an_unreachable_endpoint_fails_fast_and_says_what_to_do() {
    // An address that refuses (held until the end): a refused connection is not retried,
    // so this is one attempt (how long the retries of a timeout take belongs in a benchmark,
    // not in a timed assertion).
    let (_refusing, endpoint) = hub_server::refusing_address();
    let cache = tempfile::tempdir().unwrap();
    let hub = Hub::new(endpoint, cache.path(), None);
    let e = hub.download("org/model", "main", "config.json", &mut |_, _| {}).unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("cannot reach the HF hub") && msg.contains("HF_ENDPOINT") && !msg.contains('\n'), "{msg}");
}

/// The store asks the hub first (and accepts its bytes only when they match the pins).
#[test]
fn the_store_takes_pinned_assets_from_the_hub_first() {
    let real = Store::from_env().fetch("all-minilm-l6-v2").expect("all-MiniLM-L6-v2 from its pinned sources");
    let asset = bertrs_assets::Manifest::builtin().unwrap().get("all-minilm-l6-v2").unwrap().clone();
    let repo = asset.hf_repo.clone().unwrap();
    let files: Vec<(String, Vec<u8>)> = asset.files.iter().map(|f| (format!("{repo}/{}", f.path), std::fs::read(real.join(&f.path)).unwrap())).collect();
    let refs: Vec<(&str, Vec<u8>)> = files.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    let server = Server::start(&refs);
    let (root, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let store = Store::new(root.path()).with_hub(hub(&server, cache.path()));
    let dir = store.fetch("all-minilm-l6-v2").unwrap();
    assert_eq!(server.gets(), asset.files.len(), "every file came from the hub");
    for f in &asset.files {
        assert_eq!(bertrs_assets::sha256_file(&dir.join(&f.path)).unwrap(), f.sha256);
    }
}

#[test]
fn download_model_takes_what_the_repository_has() {
    let server = Server::start(&[
        ("org/old/config.json", b"{}".to_vec()),
        ("org/old/pytorch_model.bin", weights()),
        ("org/old/vocab.txt", b"[PAD]\n".to_vec()),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    let dir = hub(&server, cache.path())
        .download_model("org/old", "main", &mut |f, d, t| {
            if Some(d) == t {
                files.push(f.to_string());
            }
        })
        .unwrap();
    assert_eq!(dir, cache.path().join("models--org--old/snapshots").join(COMMIT));
    let mut names: Vec<String> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["config.json", "pytorch_model.bin", "vocab.txt"]);
    assert!(files.contains(&"pytorch_model.bin".to_string()), "{files:?}");
    // No weights at all is an error that says which files were looked for.
    let server = Server::start(&[("org/empty/config.json", b"{}".to_vec())]);
    let e = hub(&server, cache.path()).download_model("org/empty", "main", &mut |_, _, _| {}).unwrap_err();
    assert!(e.to_string().contains("no model.safetensors"), "{e}");
}

/// A hostile mirror cannot make the client write outside the cache: an `X-Repo-Commit` or
/// etag that would name a path elsewhere is refused, and nothing is created outside.
#[test]
fn a_hostile_mirror_cannot_write_outside_the_cache() {
    let root = tempfile::tempdir().unwrap();
    // Deep enough that `snapshots/../../../../escaped` lands inside `root`.
    let cache = root.path().join("x/cache");
    let server = Server::start(&[("org/model/config.json", b"{}".to_vec()), ("org/model/model.safetensors", weights())]);
    let hub = hub(&server, &cache);
    for (commit, etag) in [
        (Some("../../../../escaped"), None),
        (Some("0123456789abcdef0123456789abcdef0123456/../../../escaped"), None),
        (Some("main"), None),
        (None, Some("../../../escaped")),
        (None, Some("..")),
    ] {
        *server.hostile.lock().unwrap() = hub_server::Hostile { commit: commit.map(String::from), etag: etag.map(String::from) };
        for file in ["config.json", "model.safetensors"] {
            let err = hub.download("org/model", "main", file, &mut |_, _| {}).unwrap_err().to_string();
            assert!(err.contains("X-Repo-Commit") || err.contains("ETag"), "{commit:?} {etag:?}: {err}");
        }
    }
    let written = walk(root.path());
    assert!(written.iter().all(|p| p.starts_with(&cache) || p == &root.path().join("x")), "outside the cache: {written:?}");
    assert!(!written.iter().any(|p| p.to_string_lossy().contains("escaped")), "{written:?}");

    // Names from the user are checked before any request.
    let before = server.log().len();
    for (repo, rev) in [("../../x", "main"), ("org/model", "../../../x"), ("org/model", "/abs"), ("a/b/c", "main")] {
        assert!(hub.download(repo, rev, "config.json", &mut |_, _| {}).is_err(), "{repo} @ {rev}");
        assert_eq!(hub.cached(repo, rev, "config.json"), None);
    }
    assert_eq!(server.log().len(), before, "a request was sent for an invalid name");

    // The same mirror, honest again, works.
    *server.hostile.lock().unwrap() = hub_server::Hostile::default();
    hub.download("org/model", "main", "config.json", &mut |_, _| {}).unwrap();
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn a_dataset_split_comes_from_the_parquet_conversion_into_the_datasets_cache() {
    let conv = "datasets/org/movies@refs/convert/parquet";
    let shard = |i: u8| vec![i; 1000 + i as usize];
    let server = Server::start(&[
        (&format!("{conv}/default/train/0000.parquet"), shard(1)),
        (&format!("{conv}/default/train/0001.parquet"), shard(2)),
        (&format!("{conv}/default/validation/0000.parquet"), shard(3)),
        (&format!("{conv}/plain/train/0000.parquet"), shard(4)),
        // The repository's own files (not read: the conversion wins).
        ("datasets/org/movies@main/data/train.csv", b"text,label\n".to_vec()),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let hub = hub(&server, cache.path());
    // Five files, two a page: the listing follows the `Link` header over three pages.
    let data = HubDataset::open(&hub, "org/movies", None).unwrap();
    assert_eq!((data.revision(), data.config()), (PARQUET_REVISION, "default"));
    assert_eq!(data.split_files("train"), ["default/train/0000.parquet", "default/train/0001.parquet"]);
    let files = data.download_split("train", &mut |_, _, _| {}).unwrap().unwrap();
    let snapshot = cache.path().join("datasets--org--movies/snapshots").join(COMMIT);
    assert_eq!(files, [snapshot.join("default/train/0000.parquet"), snapshot.join("default/train/0001.parquet")]);
    assert_eq!(std::fs::read(&files[1]).unwrap(), shard(2));
    assert_eq!(std::fs::read_to_string(cache.path().join("datasets--org--movies/refs/refs/convert/parquet")).unwrap(), COMMIT);
    assert!(data.download_split("test", &mut |_, _, _| {}).unwrap().is_none(), "no test split");
    // Another configuration, and one that is not there.
    let plain = HubDataset::open(&hub, "org/movies", Some("plain")).unwrap();
    assert_eq!(plain.split_files("train"), ["plain/train/0000.parquet"]);
    let e = HubDataset::open(&hub, "org/movies", Some("nope")).unwrap_err().to_string();
    assert!(e.contains("no configuration `nope`") && e.contains("default, plain"), "{e}");
    // A corrupted body fails its sha256 check and leaves no blob.
    server.corrupt.store(true, Ordering::SeqCst);
    let e = data.download_split("validation", &mut |_, _, _| {}).unwrap_err().to_string();
    assert!(e.contains("sha256"), "{e}");
    server.corrupt.store(false, Ordering::SeqCst);
    assert!(data.download_split("validation", &mut |_, _, _| {}).unwrap().is_some());
}

#[test]
fn without_a_conversion_the_repositorys_own_parquet_files_are_read() {
    let server = Server::start(&[
        ("datasets/org/own@main/data/train-00000-of-00002.parquet", vec![1; 10]),
        ("datasets/org/own@main/data/train-00001-of-00002.parquet", vec![2; 10]),
        ("datasets/org/own@main/data/test-00000-of-00001.parquet", vec![3; 10]),
        ("datasets/org/own@main/README.md", b"# own".to_vec()),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let data = HubDataset::open(&hub(&server, cache.path()), "org/own", None).unwrap();
    assert_eq!(data.revision(), "main");
    assert_eq!(data.split_files("train"), ["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]);
    assert_eq!(data.split_files("test"), ["data/test-00000-of-00001.parquet"]);
    assert!(data.split_files("validation").is_empty());
    // No Parquet at all, and no such dataset.
    let server = Server::start(&[("datasets/org/csv@main/train.csv", b"text,label\n".to_vec())]);
    let e = HubDataset::open(&hub(&server, cache.path()), "org/csv", None).unwrap_err().to_string();
    assert!(e.contains("no Parquet files"), "{e}");
    let e = HubDataset::open(&hub(&server, cache.path()), "org/none", None).unwrap_err().to_string();
    assert!(e.contains("404"), "{e}");
}
