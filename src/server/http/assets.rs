//! The built site's files (the client's JavaScript and WebAssembly, the stylesheet, images),
//! served from memory with their compressed forms.
//!
//! A file is read once, on its first request, with the `.br` and `.gz` files the release build
//! writes beside it (`scripts/build.sh --release --precompress`); where those are missing, it is
//! compressed once here instead. Every later request is answered from memory in the form the
//! client accepts (brotli, then gzip, then as it is), with a strong `ETag` (a `304` for a copy the
//! client already holds). The files of `/pkg/` whose names carry their content's hash (the build's
//! `hash-files`) never change under that name, and are marked immutable for a year; every other
//! file is checked again by the browser (`no-cache` with the `ETag`).
//!
//! Files are kept for the life of the process: a deploy replaces the site folder and restarts.
//! Under `cargo leptos watch` (`LEPTOS_WATCH`), which rewrites files under a running server, none
//! is kept. Only plain paths are looked up (letters, digits, `-`, `_`, `.` and `/`, no `..`, no
//! hidden files). At most [`KEPT_BYTES`] are kept, none larger than [`LARGEST_FILE`]; what is not
//! kept here is for the router's fallback (`http::startup`).

use axum::{
    body::{Body, Bytes},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::Response,
};
use quick_cache::{sync::Cache, Weighter};
use sha2::{Digest, Sha256};
use std::{
    io::Write,
    path::PathBuf,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
};

/// The most bytes of files (with their compressed forms) kept at once.
pub const KEPT_BYTES: u64 = 128 * 1024 * 1024;
/// A larger file is read from disk for each request (a release build's WebAssembly is about
/// 2 MB; a debug build's about 17 MB).
pub const LARGEST_FILE: u64 = 48 * 1024 * 1024;
/// A larger file that the build did not compress is kept and sent as it is: compressing a debug
/// build's 17 MB of WebAssembly took the first visitor's page over 10 s to come alive. (Release
/// builds compress theirs beforehand; see `--precompress`.)
pub const LARGEST_COMPRESSED_HERE: usize = 4 * 1024 * 1024;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// Where the build writes the hashes of the client's files (`scripts/build.sh`, or cargo-leptos
/// with `hash-files`): the file `name` (the configuration's `hash_file`) beside the server binary,
/// where Leptos reads them to name the files in each page. An absolute `name` is taken as it is,
/// by Leptos too (`Path::join`).
fn hash_file(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    Some(exe.parent()?.join(name))
}

/// Whether the build named the client's files by their content's hash (see [`hash_file`]).
pub fn names_are_hashed(hash_file_name: &str) -> bool {
    hash_file(hash_file_name).is_some_and(|file| file.is_file())
}

/// Whether the browser half (the wasm and the JavaScript that starts it) is in the site yet.
///
/// `scripts/run.sh` starts the server as soon as the server is built, and builds the browser half
/// while it runs: on a fresh machine that is minutes earlier. Until the build adds the browser
/// half's names to the hash file, pages go out without the scripts that would load it, and work
/// as they do with JavaScript off. Once they are there, every page loads it; nothing restarts.
pub struct ClientBuild {
    /// The hash file, where the build names the browser half; `None` when names are not hashed
    /// (`cargo leptos watch`), which builds both halves before it starts the server.
    hash_file: Option<PathBuf>,
    /// Set once the browser half is seen: a build never takes it away under a running server.
    seen: AtomicBool,
}

impl ClientBuild {
    /// The browser half of this server's build, named in `hash_file_name` (see [`hash_file`]).
    pub fn of_this_server(hash_file_name: &str) -> Self {
        Self::named_in(hash_file(hash_file_name).filter(|file| file.is_file()))
    }

    fn named_in(hash_file: Option<PathBuf>) -> Self {
        Self {
            hash_file,
            seen: AtomicBool::new(false),
        }
    }

    /// Whether pages should load the browser half. Until it is there, each call reads the hash
    /// file (a few hundred bytes); after, none does.
    pub fn is_there(&self) -> bool {
        if self.seen.load(Ordering::Relaxed) {
            return true;
        }
        let there = match &self.hash_file {
            None => true,
            // The build writes the names of the main module, its JavaScript and the split files
            // in one rename, so the one name stands for all.
            Some(file) => std::fs::read_to_string(file)
                .is_ok_and(|hashes| hashes.lines().any(|line| line.trim_start().starts_with("wasm:"))),
        };
        if there {
            self.seen.store(true, Ordering::Relaxed);
        }
        there
    }
}

/// One file, ready in each form.
struct Asset {
    content_type: HeaderValue,
    etag: HeaderValue,
    cache_control: HeaderValue,
    plain: Bytes,
    brotli: Option<Bytes>,
    gzip: Option<Bytes>,
}

impl Asset {
    fn weight(&self) -> u64 {
        [Some(&self.plain), self.brotli.as_ref(), self.gzip.as_ref()]
            .into_iter()
            .flatten()
            .map(|bytes| bytes.len() as u64)
            .sum()
    }
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<String, Arc<Asset>> for ByBytes {
    fn weight(&self, path: &String, asset: &Arc<Asset>) -> u64 {
        path.len() as u64 + asset.weight()
    }
}

/// The files of one site folder.
pub struct Assets {
    root: PathBuf,
    /// Whether `/pkg/` file names carry a hash of their content.
    hashed: bool,
    files: Cache<String, Arc<Asset>, ByBytes>,
}

impl Assets {
    /// The files under `root`, or `None` when they change under a running server (so that every
    /// request reads them from disk).
    pub fn new(root: impl Into<PathBuf>, hashed: bool, watched: bool) -> Option<Self> {
        (!watched).then(|| Self {
            root: root.into(),
            hashed,
            // About 100 KB a file: an estimate of how many fit, which the cache sizes itself by.
            files: Cache::with_weighter((KEPT_BYTES / (100 * 1024)) as usize, KEPT_BYTES, ByBytes),
        })
    }

    /// The answer for `path`, or `None` when it is not a file kept here.
    pub async fn serve(&self, path: &str, headers: &HeaderMap) -> Option<Response> {
        let relative = plain_path(path)?;
        let asset = match self.files.get(relative) {
            Some(asset) => asset,
            None => {
                let asset = Arc::new(self.load(relative).await?);
                self.files.insert(relative.to_owned(), Arc::clone(&asset));
                asset
            }
        };
        Some(respond(&asset, headers))
    }

    /// Reads (and where the build did not, compresses) the file at `relative`.
    async fn load(&self, relative: &str) -> Option<Asset> {
        let file = self.root.join(relative);
        let immutable = self.hashed && relative.starts_with("pkg/");
        let content_type = mime_guess::from_path(&file).first_or_octet_stream();
        tokio::task::spawn_blocking(move || {
            let metadata = std::fs::metadata(&file).ok()?;
            if !metadata.is_file() || metadata.len() > LARGEST_FILE {
                return None;
            }
            let plain = std::fs::read(&file).ok()?;
            let beside = |extension: &str| {
                let mut name = file.clone().into_os_string();
                name.push(extension);
                std::fs::read(name).ok()
            };
            let compressible = is_compressible(&content_type) && plain.len() <= LARGEST_COMPRESSED_HERE;
            let brotli = beside(".br").or_else(|| compressible.then(|| brotli(&plain)).flatten());
            let gzip = beside(".gz").or_else(|| compressible.then(|| gzip(&plain)).flatten());
            let etag = format!("\"{}\"", hex(&Sha256::digest(&plain)[..12]));
            Some(Asset {
                content_type: HeaderValue::from_str(content_type.essence_str()).ok()?,
                etag: HeaderValue::from_str(&etag).ok()?,
                cache_control: HeaderValue::from_static(if immutable { IMMUTABLE } else { REVALIDATE }),
                plain: plain.into(),
                brotli: brotli.map(Bytes::from),
                gzip: gzip.map(Bytes::from),
            })
        })
        .await
        .ok()
        .flatten()
    }
}

/// `path` without its leading `/`, if it is a plain relative path inside the site folder.
pub fn plain_path(path: &str) -> Option<&str> {
    let relative = path.strip_prefix('/')?;
    let plain = !relative.is_empty()
        && relative
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'))
        && relative
            .split('/')
            .all(|segment| !segment.is_empty() && !segment.starts_with('.'));
    plain.then_some(relative)
}

fn is_compressible(content_type: &mime_guess::Mime) -> bool {
    content_type.type_() == "text"
        || matches!(
            content_type.essence_str(),
            "application/javascript" | "application/wasm" | "application/json" | "image/svg+xml"
        )
}

fn brotli(plain: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    // Quality 9 with a 4 MiB window: most of what 11 gains, in a fraction of its time.
    let mut writer = brotli::CompressorWriter::new(&mut out, 64 * 1024, 9, 22);
    writer.write_all(plain).ok()?;
    drop(writer);
    Some(out)
}

fn gzip(plain: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(plain).ok()?;
    encoder.finish().ok()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Which compressed form the client takes: brotli, else gzip, else none. An encoding it lists
/// with `q=0` is one it refuses.
fn accepted(headers: &HeaderMap) -> (bool, bool) {
    let mut brotli = false;
    let mut gzip = false;
    for value in headers.get_all(header::ACCEPT_ENCODING).iter() {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            match coding {
                "br" => brotli = !refused,
                "gzip" => gzip = !refused,
                _ => {}
            }
        }
    }
    (brotli, gzip)
}

fn respond(asset: &Asset, request: &HeaderMap) -> Response {
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, asset.content_type.clone());
    headers.insert(header::ETAG, asset.etag.clone());
    headers.insert(header::CACHE_CONTROL, asset.cache_control.clone());
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    let held = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim().trim_start_matches("W/") == asset.etag.to_str().unwrap_or(""));
    if held {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    let (takes_brotli, takes_gzip) = accepted(request);
    let (body, encoding) = match (&asset.brotli, &asset.gzip) {
        (Some(brotli), _) if takes_brotli => (brotli.clone(), Some("br")),
        (_, Some(gzip)) if takes_gzip => (gzip.clone(), Some("gzip")),
        _ => (asset.plain.clone(), None),
    };
    if let Some(encoding) = encoding {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    *response.body_mut() = Body::from(body);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_inside_the_folder_are_looked_up() {
        assert_eq!(plain_path("/pkg/skymeet.wasm"), Some("pkg/skymeet.wasm"));
        assert_eq!(plain_path("/favicon.ico"), Some("favicon.ico"));
        for path in [
            "/",
            "/../etc/passwd",
            "/pkg/../../x",
            "/.env",
            "/pkg/.hidden",
            "/a//b",
            "/a%2e%2e/b",
            "/a b",
            "relative",
        ] {
            assert_eq!(plain_path(path), None, "{path}");
        }
    }

    #[test]
    fn the_client_gets_the_best_form_it_takes() {
        let headers = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).expect("value"));
            headers
        };
        assert_eq!(accepted(&headers("gzip, deflate, br, zstd")), (true, true));
        assert_eq!(accepted(&headers("gzip")), (false, true));
        assert_eq!(accepted(&headers("br;q=0, gzip;q=0.5")), (false, true));
        assert_eq!(accepted(&HeaderMap::new()), (false, false));
    }

    #[test]
    fn the_browser_half_is_there_once_the_build_names_it() {
        let folder = tempfile::tempdir().expect("folder");
        let hashes = folder.path().join("hash.txt");
        // The server's build: the stylesheet only.
        std::fs::write(&hashes, "css: AbC\n").expect("hash file");
        let client = ClientBuild::named_in(Some(hashes.clone()));
        assert!(!client.is_there());
        assert!(!client.is_there(), "asked again, still not there");
        // The browser half's build: every name.
        std::fs::write(&hashes, "js: x\nwasm: y\ncss: AbC\nmanifest: z\nsplit: x\n").expect("hash file");
        assert!(client.is_there());
        // Seen once, it stays: the file is not read again.
        std::fs::remove_file(&hashes).expect("removed");
        assert!(client.is_there());
        // A missing hash file is a build still under way.
        assert!(!ClientBuild::named_in(Some(hashes)).is_there());
        // Names not hashed: the build made both halves before the server started.
        assert!(ClientBuild::named_in(None).is_there());
    }

    #[tokio::test]
    async fn a_large_file_the_build_did_not_compress_is_kept_and_sent_as_it_is() {
        let folder = tempfile::tempdir().expect("folder");
        let wasm = vec![7_u8; LARGEST_COMPRESSED_HERE + 1];
        std::fs::create_dir(folder.path().join("pkg")).expect("pkg");
        std::fs::write(folder.path().join("pkg/app.wasm"), &wasm).expect("file");
        let assets = Assets::new(folder.path(), true, false).expect("kept");
        let mut request = HeaderMap::new();
        request.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, br"));
        let response = assets.serve("/pkg/app.wasm", &request).await.expect("served");
        assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/wasm");
        // Kept in memory all the same: served after the file is gone.
        std::fs::remove_file(folder.path().join("pkg/app.wasm")).expect("removed");
        let response = assets.serve("/pkg/app.wasm", &request).await.expect("kept");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(body.len(), wasm.len());
    }

    #[tokio::test]
    async fn files_are_served_compressed_and_revalidated() {
        let folder = tempfile::tempdir().expect("folder");
        let css = "body { color: black; }\n".repeat(200);
        std::fs::create_dir(folder.path().join("pkg")).expect("pkg");
        std::fs::write(folder.path().join("pkg/site.css"), &css).expect("file");
        let assets = Assets::new(folder.path(), true, false).expect("kept");
        let mut request = HeaderMap::new();
        request.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip, br"));
        let response = assets.serve("/pkg/site.css", &request).await.expect("served");
        assert_eq!(response.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(response.headers()[header::CONTENT_TYPE], "text/css");
        assert_eq!(response.headers()[header::CACHE_CONTROL], IMMUTABLE);
        let etag = response.headers()[header::ETAG].clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let mut plain = Vec::new();
        brotli::BrotliDecompress(&mut &body[..], &mut plain).expect("brotli");
        assert_eq!(plain, css.as_bytes());
        assert!(body.len() < css.len() / 10);

        // Kept: the file may go, the copy stays (a deploy restarts the process).
        std::fs::remove_file(folder.path().join("pkg/site.css")).expect("removed");
        let response = assets.serve("/pkg/site.css", &HeaderMap::new()).await.expect("kept");
        assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        assert_eq!(body, css.as_bytes());

        let mut held = HeaderMap::new();
        held.insert(header::IF_NONE_MATCH, etag);
        let response = assets.serve("/pkg/site.css", &held).await.expect("served");
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);

        assert!(assets.serve("/pkg/missing.css", &request).await.is_none());
        assert!(assets.serve("/pkg", &request).await.is_none(), "a folder is no file");
        assert!(Assets::new(folder.path(), true, true).is_none(), "watched: never kept");
    }
}
