//! Splits Skymeet's browser wasm so that each page's code downloads only when the page is shown.
//!
//! usage: skymeet-wasm-split INPUT.wasm PKG_DIR MAIN_OUT.wasm
//!
//! The app marks its pages as lazy routes (`#[lazy_route]`, see `src/app.rs`). On wasm, each
//! lazy function is an import from a placeholder module that this step resolves:
//! `wasm_split_cli_support` (the library `cargo leptos --split` uses) cuts INPUT (linked with
//! `--emit-relocs`) into
//! - MAIN_OUT, the main module, for wasm-bindgen to turn into `skymeet.js` + `skymeet.wasm`;
//! - one `.wasm` per page and per chunk of code that several pages share, in PKG_DIR;
//! - `__wasm_split.______________________.js` in PKG_DIR, the loader the main module imports
//!   to fetch and instantiate them (it imports `initSync` from `./skymeet.js`);
//! - `__wasm_split_manifest.json` in PKG_DIR: for each page, the files it needs. The server reads
//!   it to add `<link rel="preload">` for the page it renders, so they download in parallel.
//!
//! `scripts/build.sh` then names every file by its content (the file names written here are the
//! ones it rewrites).

use std::{fs, path::Path, process::ExitCode};

/// The name the loader is imported under, and which Leptos's `HydrationScripts` looks for.
const LOADER: &str = "./__wasm_split.______________________.js";
/// The wasm-bindgen glue the loader imports `initSync` from (wasm-bindgen's `--out-name`).
const MAIN_MODULE: &str = "./skymeet.js";
const MANIFEST: &str = "__wasm_split_manifest.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, pkg_dir, main_out] = args.as_slice() else {
        eprintln!("usage: skymeet-wasm-split INPUT.wasm PKG_DIR MAIN_OUT.wasm");
        return ExitCode::from(2);
    };
    match split(Path::new(input), Path::new(pkg_dir), Path::new(main_out)) {
        Ok(files) => {
            println!("split into the main module and {files} files");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("skymeet-wasm-split: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn split(input: &Path, pkg_dir: &Path, main_out: &Path) -> Result<usize, String> {
    let wasm = fs::read(input).map_err(|e| format!("reading {}: {e}", input.display()))?;
    let mut options = wasm_split_cli_support::Options::new(&wasm);
    options.output_dir = pkg_dir;
    options.main_out_path = main_out;
    options.main_module = MAIN_MODULE;
    options.link_name = LOADER;
    let split =
        wasm_split_cli_support::transform(options).map_err(|e| format!("splitting {}: {e:#}", input.display()))?;
    let manifest =
        serde_json::to_string_pretty(&split.prefetch_map).map_err(|e| format!("writing the manifest: {e}"))?;
    let manifest_path = pkg_dir.join(MANIFEST);
    fs::write(&manifest_path, manifest).map_err(|e| format!("writing {}: {e}", manifest_path.display()))?;
    Ok(split.split_modules.len())
}
