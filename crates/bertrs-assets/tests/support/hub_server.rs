//! A local HTTP server with the HF hub's URL layout (`/{repo}/resolve/{rev}/{file}`,
//! `X-Repo-Commit`, `ETag`/`X-Linked-Etag`, a CDN redirect for LFS files, `Range`) serving
//! files from memory, with faults on demand. Shared by the hub tests of `bertrs-assets` and
//! `bertrs-cli` (included with `#[path]`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sha2::Digest;

pub const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// Repositories under `gated/` need `Authorization: Bearer GATED_TOKEN`, as a gated or private
/// repository does: none is a 401, another token a 403.
pub const GATED_TOKEN: &str = "hf_secret_token";

#[derive(Default)]
struct State {
    /// `repo/file` → bytes.
    files: HashMap<String, Vec<u8>>,
    /// Requests seen: (method, path, Range header).
    log: Vec<(String, String, Option<String>)>,
}

pub struct Server {
    pub port: u16,
    state: Arc<Mutex<State>>,
    pub drop_next_body: Arc<AtomicBool>,
    pub corrupt: Arc<AtomicBool>,
    /// A hostile mirror: `X-Repo-Commit` and etag values to send instead of the real ones.
    pub hostile: Arc<Mutex<Hostile>>,
}

/// Header values a hostile mirror sends in place of the real ones.
#[derive(Debug, Default, Clone)]
pub struct Hostile {
    pub commit: Option<String>,
    pub etag: Option<String>,
}

pub fn sha256(b: &[u8]) -> String {
    sha2::Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect()
}

/// Large files behave as LFS files on the hub: etag = sha256, body behind a CDN redirect.
fn is_lfs(name: &str) -> bool {
    name.ends_with(".safetensors") || name.ends_with(".bin") || name.ends_with(".parquet")
}

/// Entries a page of the tree API lists, so that listings are paginated as the hub's are.
const TREE_PAGE: usize = 2;

impl Server {
    pub fn start(files: &[(&str, Vec<u8>)]) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            files: files.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(),
            log: Vec::new(),
        }));
        let server = Server { port, state, drop_next_body: Arc::default(), corrupt: Arc::default(), hostile: Arc::default() };
        let (state, drop_next, corrupt, hostile) =
            (server.state.clone(), server.drop_next_body.clone(), server.corrupt.clone(), server.hostile.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (state, drop_next, corrupt) = (state.clone(), drop_next.clone(), corrupt.clone());
                let hostile = hostile.lock().unwrap().clone();
                std::thread::spawn(move || serve(stream, port, &state, &drop_next, &corrupt, &hostile));
            }
        });
        server
    }

    /// Serves `body` at `key` (`repo/file` on the hub, or a /pypi/ path) from now on.
    pub fn add(&self, key: &str, body: Vec<u8>) {
        self.state.lock().unwrap().files.insert(key.to_string(), body);
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log(&self) -> Vec<(String, String, Option<String>)> {
        self.state.lock().unwrap().log.clone()
    }

    /// The /pypi/ paths asked for.
    pub fn pypi_gets(&self) -> Vec<String> {
        self.log().into_iter().filter(|(m, _, _)| m.starts_with("PYPI")).map(|(_, p, _)| p).collect()
    }

    /// Downloads asked of the hub (GETs of `/resolve/` URLs; a redirected one also hits the CDN).
    pub fn gets(&self) -> usize {
        self.log().iter().filter(|(m, p, _)| m == "GET" && p.contains("/resolve/")).count()
    }
}

fn serve(mut stream: TcpStream, port: u16, state: &Mutex<State>, drop_next: &AtomicBool, corrupt: &AtomicBool, hostile: &Hostile) {
    let commit = hostile.commit.clone().unwrap_or_else(|| COMMIT.into());
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let (mut range, mut auth) = (None, None);
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("range") {
                range = Some(v.trim().to_string());
            } else if k.eq_ignore_ascii_case("authorization") {
                auth = Some(v.trim().to_string());
            }
        }
    }
    let logged = if path.starts_with("/pypi/") { format!("PYPI {method}") } else { method.clone() };
    state.lock().unwrap().log.push((logged, path.clone(), range.clone()));
    let head = method == "HEAD";
    let mut respond = |status: &str, headers: &[(&str, String)], body: &[u8]| {
        let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let _ = stream.write_all(out.as_bytes());
        if !head {
            let _ = stream.write_all(body);
        }
    };
    // The CDN: /cdn/<repo>/<file>, with Range support and the faults.
    if let Some(key) = path.strip_prefix("/cdn/") {
        let Some(mut body) = state.lock().unwrap().files.get(key).cloned() else {
            return respond("404 Not Found", &[("Content-Length", "0".into())], b"");
        };
        if corrupt.load(Ordering::SeqCst) {
            body[0] ^= 0xff;
        }
        let start: usize = range.as_deref().and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok()).unwrap_or(0);
        let rest = &body[start..];
        let status = if start > 0 { "206 Partial Content" } else { "200 OK" };
        let mut headers = vec![("Content-Length", rest.len().to_string())];
        if start > 0 {
            headers.push(("Content-Range", format!("bytes {start}-{}/{}", body.len() - 1, body.len())));
        }
        if !head && drop_next.swap(false, Ordering::SeqCst) {
            // Announce everything, send a third, hang up.
            let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
            for (k, v) in &headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            let _ = stream.write_all(out.as_bytes());
            let _ = stream.write_all(&rest[..rest.len() / 3]);
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return;
        }
        return respond(status, &headers, rest);
    }
    // A plain file server under /pypi/ (a PEP 691 simple index and its files): key = the rest.
    if let Some(key) = path.strip_prefix("/pypi/") {
        let Some(body) = state.lock().unwrap().files.get(key).cloned() else {
            return respond("404 Not Found", &[("Content-Length", "0".into())], b"");
        };
        return respond("200 OK", &[("Content-Length", body.len().to_string())], &body);
    }
    // The tree API of dataset repositories, by revision (files added as
    // `datasets/{org}/{name}@{revision}/{path}`): /api/datasets/{org}/{name}/tree/{rev}?…,
    // TREE_PAGE entries a page, the next page in a `Link` header.
    if let Some(rest) = path.strip_prefix("/api/datasets/") {
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let segs: Vec<&str> = rest.splitn(4, '/').collect();
        if segs.len() != 4 || segs[2] != "tree" {
            return respond("404 Not Found", &[("Content-Length", "0".into())], b"");
        }
        let prefix = format!("datasets/{}/{}@{}/", segs[0], segs[1], segs[3].replace("%2F", "/"));
        let mut entries: Vec<String> = state
            .lock()
            .unwrap()
            .files
            .iter()
            .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|p| format!("{{\"type\": \"file\", \"path\": \"{p}\", \"size\": {}}}", v.len())))
            .collect();
        if entries.is_empty() {
            return respond("404 Not Found", &[("X-Error-Code", "RevisionNotFound".into()), ("Content-Length", "0".into())], b"");
        }
        entries.sort();
        let cursor: usize = query.split('&').find_map(|kv| kv.strip_prefix("cursor=")?.parse().ok()).unwrap_or(0);
        let page = &entries[cursor.min(entries.len())..(cursor + TREE_PAGE).min(entries.len())];
        let body = format!("[{}]", page.join(", "));
        let mut headers = vec![("Content-Type", "application/json".to_string()), ("Content-Length", body.len().to_string())];
        if cursor + TREE_PAGE < entries.len() {
            headers.push(("Link", format!("<http://127.0.0.1:{port}/api/datasets/{rest}?recursive=true&cursor={}>; rel=\"next\"", cursor + TREE_PAGE)));
        }
        return respond("200 OK", &headers, body.as_bytes());
    }
    // The hub: /{org}/{name}/resolve/{rev}/{file}, and /datasets/{org}/{name}/resolve/{rev}/{file}
    // (dataset files are keyed by revision too).
    let (repo, file, key) = if let Some(rest) = path.strip_prefix("/datasets/") {
        let segs: Vec<&str> = rest.splitn(5, '/').collect();
        if segs.len() != 5 || segs[2] != "resolve" {
            return respond("404 Not Found", &[("Content-Length", "0".into())], b"");
        }
        let key = format!("datasets/{}/{}@{}/{}", segs[0], segs[1], segs[3].replace("%2F", "/"), segs[4]);
        (format!("{}/{}", segs[0], segs[1]), segs[4], key)
    } else {
        let segs: Vec<&str> = path.trim_start_matches('/').splitn(5, '/').collect();
        if segs.len() != 5 || segs[2] != "resolve" {
            return respond("404 Not Found", &[("Content-Length", "0".into())], b"");
        }
        let repo = format!("{}/{}", segs[0], segs[1]);
        let key = format!("{repo}/{}", segs[4]);
        (repo, segs[4], key)
    };
    if repo.starts_with("gated/") {
        match auth.as_deref() {
            None => return respond("401 Unauthorized", &[("X-Error-Code", "GatedRepo".into()), ("Content-Length", "0".into())], b""),
            Some(a) if a != format!("Bearer {GATED_TOKEN}") => return respond("403 Forbidden", &[("Content-Length", "0".into())], b""),
            Some(_) => {}
        }
    }
    let Some(body) = state.lock().unwrap().files.get(&key).cloned() else {
        return respond("404 Not Found", &[("X-Error-Code", "EntryNotFound".into()), ("Content-Length", "0".into())], b"");
    };
    if is_lfs(file) {
        respond(
            "302 Found",
            &[
                ("Location", format!("http://127.0.0.1:{port}/cdn/{key}")),
                ("X-Repo-Commit", commit),
                ("X-Linked-Etag", format!("\"{}\"", hostile.etag.clone().unwrap_or_else(|| sha256(&body)))),
                ("X-Linked-Size", body.len().to_string()),
                ("Content-Length", "0".into()),
            ],
            b"",
        );
    } else {
        // A git blob id-like etag (not a sha256): size is checked, not the hash.
        let etag = hostile.etag.clone().unwrap_or_else(|| sha256(&body)[..40].to_string());
        respond(
            "200 OK",
            &[("X-Repo-Commit", commit), ("ETag", format!("\"{etag}\"")), ("Content-Length", body.len().to_string())],
            &body,
        );
    }
}


/// An address that refuses connections for as long as the returned socket lives: bound, never
/// listening (the kernel answers a connection with a reset), so no other server can take
/// its port meanwhile.
pub fn refusing_address() -> (socket2::Socket, String) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    socket.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    let port = socket.local_addr().unwrap().as_socket().unwrap().port();
    (socket, format!("http://127.0.0.1:{port}"))
}
