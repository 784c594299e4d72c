//! The HuggingFace hub, as `huggingface_hub.hf_hub_download` uses it, with its cache layout
//! so that a Python user's cache is ours and the other way round:
//!
//! ```text
//! $HF_HUB_CACHE/models--org--name/blobs/<etag>                      the bytes
//!                                /snapshots/<commit>/<file>  -> ../../blobs/<etag>
//!                                /refs/<revision>                   the commit it names
//! ```
//!
//! A download asks `HEAD {endpoint}/{repo}/resolve/{revision}/{file}` for the commit
//! (`X-Repo-Commit`), the etag (`X-Linked-Etag` for LFS files, which is their sha256, else
//! `ETag`) and the size (`X-Linked-Size`/`Content-Length`), following only relative redirects
//! (renamed repositories) as huggingface_hub does; then GETs the bytes (following the CDN
//! redirect) into `blobs/<etag>.incomplete`, resuming with a `Range` request after a broken
//! connection, checks the size and, for LFS files, the sha256, and only then renames the blob
//! into place and links the snapshot file. A wrong body leaves nothing that looks valid.
//!
//! Environment, as huggingface_hub reads it: `HF_ENDPOINT`, `HF_HUB_CACHE`, `HF_HOME`
//! (`$HF_HOME/hub`, `$HF_HOME/token`), `XDG_CACHE_HOME`, `HF_TOKEN`, `HF_HUB_OFFLINE`.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::hub_names::{check_file_name, check_repo_id, check_revision, is_blob_name, is_commit_hash};
use crate::{Error, Result};

/// How many times one file's download resumes after a broken connection.
const RETRIES: usize = 3;

/// A hub endpoint and the cache its files go to.
#[derive(Debug, Clone)]
pub struct Hub {
    endpoint: String,
    cache: PathBuf,
    token: Option<String>,
    offline: bool,
    datasets: bool,
}

/// What the hub says about one file of one revision.
#[derive(Debug, Clone)]
struct Meta {
    commit: String,
    etag: String,
    size: Option<u64>,
}

impl Hub {
    pub fn new(endpoint: impl Into<String>, cache: impl Into<PathBuf>, token: Option<String>) -> Self {
        Self {
            endpoint: endpoint.into().trim_end_matches('/').to_string(),
            cache: cache.into(),
            token,
            offline: false,
            datasets: false,
        }
    }

    /// The same hub and cache for dataset repositories: `{endpoint}/datasets/{repo}/…` URLs
    /// and `datasets--org--name` cache directories, as huggingface_hub's `repo_type="dataset"`.
    pub fn for_datasets(&self) -> Self {
        Self { datasets: true, ..self.clone() }
    }

    /// Whether `HF_HUB_OFFLINE` is set: only cached files are used.
    pub fn offline(&self) -> bool {
        self.offline
    }

    /// The endpoint, cache, token and offline mode from the environment, as huggingface_hub.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let hf_home = var("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".cache")))
                .unwrap_or_else(std::env::temp_dir)
                .join("huggingface")
        });
        let cache = var("HF_HUB_CACHE").map(PathBuf::from).unwrap_or_else(|| hf_home.join("hub"));
        let token = var("HF_TOKEN").or_else(|| {
            let path = var("HF_TOKEN_PATH").map(PathBuf::from).unwrap_or_else(|| hf_home.join("token"));
            std::fs::read_to_string(path).ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty())
        });
        let mut hub = Self::new(var("HF_ENDPOINT").unwrap_or_else(|| "https://huggingface.co".into()), cache, token);
        hub.offline = var("HF_HUB_OFFLINE").is_some_and(|v| matches!(v.as_str(), "1" | "true" | "ON" | "YES" | "on" | "yes"));
        hub
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn cache(&self) -> &Path {
        &self.cache
    }

    /// `models--org--name` (or `datasets--org--name`) under the cache.
    pub fn repo_dir(&self, repo: &str) -> PathBuf {
        let kind = if self.datasets { "datasets" } else { "models" };
        self.cache.join(format!("{kind}--{}", repo.replace('/', "--")))
    }

    /// A file already in the cache for `revision` (a branch, tag or commit), if any.
    pub fn cached(&self, repo: &str, revision: &str, file: &str) -> Option<PathBuf> {
        check_repo_id(repo).ok()?;
        check_revision(revision).ok()?;
        check_file_name(file).ok()?;
        let dir = self.repo_dir(repo);
        let commit = std::fs::read_to_string(dir.join("refs").join(revision))
            .map(|c| c.trim().to_string())
            .unwrap_or_else(|_| revision.to_string());
        // A refs file is only trusted to name a snapshot when it holds a commit hash.
        if !is_commit_hash(&commit) {
            return None;
        }
        let path = dir.join("snapshots").join(commit).join(file);
        path.is_file().then_some(path)
    }

    /// `hf_hub_download`: the path of `file` in the snapshot of `revision`, downloading it
    /// when the cache does not hold it. `progress` sees (bytes so far, total if known).
    pub fn download(&self, repo: &str, revision: &str, file: &str, progress: &mut dyn FnMut(u64, Option<u64>)) -> Result<PathBuf> {
        check_repo_id(repo)?;
        check_revision(revision)?;
        if self.offline {
            return self.cached(repo, revision, file).ok_or_else(|| Error::Http {
                url: self.url(repo, revision, file),
                message: "not in the cache and HF_HUB_OFFLINE is set".into(),
            });
        }
        let url = self.url(repo, revision, file);
        check_file_name(file).map_err(|e| Error::Http { url: url.clone(), message: e.to_string() })?;
        let meta = self.head(&url)?;
        let dir = self.repo_dir(repo);
        if revision != meta.commit {
            write_file(&dir.join("refs").join(revision), meta.commit.as_bytes())?;
        }
        let pointer = dir.join("snapshots").join(&meta.commit).join(file);
        let blob = dir.join("blobs").join(&meta.etag);
        if !blob.is_file() {
            self.fetch_blob(&url, &meta, &blob, progress)?;
        }
        if !pointer.is_file() {
            link(&blob, &pointer)?;
        }
        Ok(pointer)
    }

    /// `from_pretrained` for a BERT classifier: `config.json`, the weights
    /// (`model.safetensors`, else a sharded `model.safetensors.index.json` and its shards,
    /// else `pytorch_model.bin`) and the tokenizer files the repository has. Returns the
    /// snapshot directory. `progress` sees (file, bytes so far, total if known).
    pub fn download_model(&self, repo: &str, revision: &str, progress: &mut dyn FnMut(&str, u64, Option<u64>)) -> Result<PathBuf> {
        let mut get = |file: &str| self.download(repo, revision, file, &mut |d, t| progress(file, d, t));
        let config = get("config.json")?;
        let snapshot = config.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut weights = Err(Error::Http { url: String::new(), message: String::new() });
        for candidate in ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin"] {
            weights = get(candidate);
            match &weights {
                Err(e) if is_not_found(e) => continue,
                _ => break,
            }
        }
        let weights = weights.map_err(|e| match e {
            e if is_not_found(&e) => Error::Http {
                url: self.url(repo, revision, ""),
                message: "no model.safetensors, model.safetensors.index.json or pytorch_model.bin".into(),
            },
            e => e,
        })?;
        if weights.ends_with("model.safetensors.index.json") {
            let text = std::fs::read_to_string(&weights).map_err(|source| Error::Io { path: weights.clone(), source })?;
            let index: serde_json::Value = serde_json::from_str(&text).map_err(|e| Error::Http {
                url: self.url(repo, revision, "model.safetensors.index.json"),
                message: format!("not a safetensors index: {e}"),
            })?;
            let mut shards: Vec<&str> = index["weight_map"].as_object().into_iter().flatten().filter_map(|(_, v)| v.as_str()).collect();
            shards.sort();
            shards.dedup();
            for shard in shards {
                get(shard)?;
            }
        }
        for optional in ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"] {
            match get(optional) {
                Err(e) if is_not_found(&e) => tracing::info!("{repo} has no {optional}"),
                r => {
                    r?;
                }
            }
        }
        Ok(snapshot)
    }

    fn url(&self, repo: &str, revision: &str, file: &str) -> String {
        let kind = if self.datasets { "datasets/" } else { "" };
        format!("{}/{kind}{repo}/resolve/{}/{file}", self.endpoint, revision.replace('/', "%2F"))
    }

    /// `list_repo_files`: every file of `revision`, from the hub's tree API
    /// (`GET /api/{models|datasets}/{repo}/tree/{revision}?recursive=true`, following its
    /// `Link: <…>; rel="next"` pages); offline, the cached snapshot's files.
    pub fn list_files(&self, repo: &str, revision: &str) -> Result<Vec<String>> {
        check_repo_id(repo)?;
        check_revision(revision)?;
        if self.offline {
            return self.cached_files(repo, revision);
        }
        let kind = if self.datasets { "datasets" } else { "models" };
        let mut url = format!("{}/api/{kind}/{repo}/tree/{}?recursive=true", self.endpoint, revision.replace('/', "%2F"));
        let agent = self.agent(5);
        let mut files = Vec::new();
        for _ in 0..10_000 {
            let resp = self.request(&agent, "GET", &url).call().map_err(|e| self.http_error(&url, e))?;
            let next = resp.header("Link").and_then(next_link);
            let entries: serde_json::Value = resp.into_json().map_err(|e| Error::Http { url: url.clone(), message: format!("not a file listing: {e}") })?;
            let entries = entries.as_array().ok_or_else(|| Error::Http { url: url.clone(), message: "not a file listing: expected a JSON array".into() })?;
            for e in entries {
                if e["type"] == "file"
                    && let Some(path) = e["path"].as_str()
                {
                    files.push(path.to_string());
                }
            }
            match next {
                Some(n) => url = if n.starts_with('/') { format!("{}{n}", origin(&url)) } else { n },
                None => {
                    files.sort();
                    return Ok(files);
                }
            }
        }
        Err(Error::Http { url, message: "too many pages".into() })
    }

    /// The files of `revision`'s cached snapshot.
    fn cached_files(&self, repo: &str, revision: &str) -> Result<Vec<String>> {
        let dir = self.repo_dir(repo);
        let commit = std::fs::read_to_string(dir.join("refs").join(revision)).map(|c| c.trim().to_string()).unwrap_or_else(|_| revision.to_string());
        let snapshot = dir.join("snapshots").join(&commit);
        if !is_commit_hash(&commit) || !snapshot.is_dir() {
            return Err(Error::Http { url: self.url(repo, revision, ""), message: "not in the cache and HF_HUB_OFFLINE is set".into() });
        }
        let mut files = Vec::new();
        let mut dirs = vec![snapshot.clone()];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).map_err(|source| Error::Io { path: d.clone(), source })?.flatten() {
                let p = e.path();
                if p.is_dir() {
                    dirs.push(p);
                } else if let Ok(rel) = p.strip_prefix(&snapshot) {
                    files.push(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        files.sort();
        Ok(files)
    }

    fn agent(&self, redirects: u32) -> ureq::Agent {
        ureq::AgentBuilder::new()
            .redirects(redirects)
            .timeout_connect(Duration::from_secs(10))
            .timeout_read(Duration::from_secs(60))
            .build()
    }

    fn request(&self, agent: &ureq::Agent, method: &str, url: &str) -> ureq::Request {
        let mut req = agent.request(method, url).set("Accept-Encoding", "identity").set("User-Agent", "bert-rs");
        if let Some(t) = &self.token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        req
    }

    /// The file's commit, etag and size; follows relative redirects only.
    fn head(&self, url: &str) -> Result<Meta> {
        let agent = self.agent(0);
        let mut url = url.to_string();
        for _ in 0..5 {
            let resp = self.request(&agent, "HEAD", &url).call().map_err(|e| self.http_error(&url, e))?;
            let header = |k: &str| resp.header(k).map(|v| v.trim().to_string());
            if (300..400).contains(&resp.status())
                && let Some(loc) = header("Location").filter(|l| l.starts_with('/'))
            {
                url = format!("{}{loc}", origin(&url));
                continue;
            }
            let commit = header("X-Repo-Commit").ok_or_else(|| Error::Http {
                url: url.clone(),
                message: "no X-Repo-Commit header: is HF_ENDPOINT a hub?".into(),
            })?;
            // It names the snapshot directory: a 40-hex commit only (huggingface_hub's rule).
            if !is_commit_hash(&commit) {
                return Err(Error::Http { url, message: format!("the server sent X-Repo-Commit `{commit}`, not a commit hash") });
            }
            let etag = header("X-Linked-Etag").or_else(|| header("ETag")).ok_or_else(|| Error::Http {
                url: url.clone(),
                message: "no ETag header".into(),
            })?;
            let etag = etag.trim_start_matches("W/").trim_matches('"').to_string();
            if !is_blob_name(&etag) {
                return Err(Error::Http { url, message: format!("the server sent an unusable ETag `{etag}`") });
            }
            let size = header("X-Linked-Size").or_else(|| header("Content-Length")).and_then(|s| s.parse().ok());
            return Ok(Meta { commit, etag, size });
        }
        Err(Error::Http { url, message: "too many redirects".into() })
    }

    fn http_error(&self, url: &str, e: ureq::Error) -> Error {
        match e {
            ureq::Error::Status(404, _) => Error::Http { url: url.into(), message: "not found (404): no such repository, revision or file".into() },
            ureq::Error::Status(code @ (401 | 403), _) => Error::Http {
                url: url.into(),
                message: format!("access denied ({code}): a gated or private repository needs a token (HF_TOKEN or `huggingface-cli login`)"),
            },
            ureq::Error::Status(code, _) => Error::Http { url: url.into(), message: format!("HTTP {code}") },
            ureq::Error::Transport(t) => Error::Unreachable { endpoint: self.endpoint.clone(), message: t.to_string() },
        }
    }

    /// Downloads into `<blob>.incomplete` (resuming what is there), verifies, renames.
    fn fetch_blob(&self, url: &str, meta: &Meta, blob: &Path, progress: &mut dyn FnMut(u64, Option<u64>)) -> Result<()> {
        let dir = blob.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        // One downloader per blob across processes; the lock goes with the handle.
        let lock_path = blob.with_extension("lock");
        let lock = bertrs_fs::open_lock_file(&lock_path)?;
        lock.lock().map_err(|source| Error::Io { path: lock_path.clone(), source })?;
        if blob.is_file() {
            return Ok(());
        }
        let part = PathBuf::from(format!("{}.incomplete", blob.display()));
        let io = |source| Error::Io { path: part.clone(), source };
        let agent = self.agent(10);
        let mut last_err = None;
        for attempt in 0..=RETRIES {
            let have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
            if meta.size.is_some_and(|s| have >= s) {
                break;
            }
            let mut req = self.request(&agent, "GET", url);
            if have > 0 {
                req = req.set("Range", &format!("bytes={have}-"));
            }
            let resp = match req.call() {
                Ok(r) => r,
                Err(ureq::Error::Status(416, _)) => break, // nothing left to send
                Err(e) => return Err(self.http_error(url, e)),
            };
            let mut out = std::fs::OpenOptions::new().create(true).append(true).open(&part).map_err(io)?;
            let mut done = have;
            if resp.status() != 206 {
                // The server ignored the range: start over.
                out.set_len(0).map_err(io)?;
                out.seek(std::io::SeekFrom::Start(0)).map_err(io)?;
                done = 0;
            } else if have > 0 {
                tracing::info!("resuming {url} at byte {have}");
            }
            let mut reader = resp.into_reader();
            let mut buf = vec![0u8; 1 << 16];
            let result = loop {
                match reader.read(&mut buf) {
                    Ok(0) => break Ok(()),
                    Ok(n) => {
                        out.write_all(&buf[..n]).map_err(io)?;
                        done += n as u64;
                        progress(done, meta.size);
                    }
                    Err(e) => break Err(e),
                }
            };
            out.sync_all().map_err(io)?;
            match result {
                Ok(()) if meta.size.is_none_or(|s| done >= s) => {
                    last_err = None;
                    break;
                }
                Ok(()) => last_err = Some(format!("connection closed after {done} of {:?} bytes", meta.size)),
                Err(e) => last_err = Some(format!("connection broke after {done} bytes: {e}")),
            }
            tracing::warn!("{url}: {} (attempt {} of {})", last_err.as_deref().unwrap_or(""), attempt + 1, RETRIES + 1);
        }
        if let Some(message) = last_err {
            return Err(Error::Http { url: url.into(), message });
        }
        let size = std::fs::metadata(&part).map_err(io)?.len();
        if let Some(want) = meta.size
            && size != want
        {
            let _ = std::fs::remove_file(&part);
            return Err(Error::Http { url: url.into(), message: format!("got {size} bytes, the hub announced {want}") });
        }
        // An LFS file's etag is its sha256: check it before the blob counts as valid.
        if meta.etag.len() == 64 && meta.etag.bytes().all(|b| b.is_ascii_hexdigit()) {
            let found = crate::sha256_file(&part)?;
            if found != meta.etag.to_ascii_lowercase() {
                let _ = std::fs::remove_file(&part);
                return Err(Error::Checksum { what: url.into(), expected: meta.etag.clone(), found });
            }
        }
        std::fs::rename(&part, blob).map_err(|source| Error::Io { path: blob.to_path_buf(), source })?;
        Ok(())
    }
}

/// The `rel="next"` URL of a `Link` header, as the hub paginates listings.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find(|part| part.contains("rel=\"next\"")).and_then(|part| {
        let start = part.find('<')? + 1;
        let end = part.find('>')?;
        Some(part[start..end].trim().to_string())
    })
}

/// Whether an error is the hub's 404 for a file (so another candidate may be tried).
pub fn is_not_found(e: &Error) -> bool {
    matches!(e, Error::Http { message, .. } if message.starts_with("not found (404)"))
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let start = url.find("://").map_or(0, |i| i + 3);
    url[start..].find('/').map_or(url, |i| &url[..start + i])
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
    }
    Ok(bertrs_fs::write_atomic(path, bytes)?)
}

/// The snapshot entry: a relative symlink to the blob (as huggingface_hub makes), or a copy
/// where symlinks are not available.
fn link(blob: &Path, pointer: &Path) -> Result<()> {
    let io = |source| Error::Io { path: pointer.to_path_buf(), source };
    let dir = pointer.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = PathBuf::from(format!("{}.tmp{}", pointer.display(), std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    #[cfg(unix)]
    {
        let rel = relative(dir, blob);
        std::os::unix::fs::symlink(&rel, &tmp).map_err(io)?;
    }
    #[cfg(not(unix))]
    std::fs::copy(blob, &tmp).map_err(io)?;
    std::fs::rename(&tmp, pointer).map_err(io)
}

/// `blob` relative to `from` (both under the same repository directory).
#[cfg(unix)]
fn relative(from: &Path, blob: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = blob.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut rel = PathBuf::new();
    for _ in common..from.len() {
        rel.push("..");
    }
    for c in &to[common..] {
        rel.push(c);
    }
    rel
}
