// What a browser downloads of the wasm to show each page, from a release build made with
// `scripts/build.sh --release --precompress`: the main module, plus for a lazy page its pack (the
// files the manifest lists for it, its own code and the chunks it shares with other pages, in one
// download: scripts/pack-pages.mjs). Beside it, what the same files cost fetched one by one, each
// compressed on its own (a page opened after another one fetches only the files it lacks that
// way). Prints one line per page and `row:` lines for scripts/bench.sh's table.
//
// usage: node benches/wasm-per-page.mjs PKG_DIR HASH_TXT
import fs from "node:fs";
import path from "node:path";

const [pkg, hashFile] = process.argv.slice(2);
if (!pkg || !hashFile) {
  console.error("usage: node benches/wasm-per-page.mjs PKG_DIR HASH_TXT");
  process.exit(2);
}
const hashes = Object.fromEntries(
  fs.readFileSync(hashFile, "utf8").trim().split("\n").map((line) => line.split(": ")),
);
const size = (file) => fs.statSync(path.join(pkg, file)).size;
/** Raw, brotli and gzip bytes of the given files together. */
const sizes = (files) => ({
  files: files.length,
  raw: files.reduce((sum, f) => sum + size(f), 0),
  brotli: files.reduce((sum, f) => sum + size(`${f}.br`), 0),
  gzip: files.reduce((sum, f) => sum + size(`${f}.gz`), 0),
});

const main = `skymeet.${hashes.wasm}.wasm`;
const manifest = JSON.parse(fs.readFileSync(path.join(pkg, `__wasm_split_manifest.${hashes.manifest}.json`), "utf8"));
// A lazy route's key is its view function's name and a hash: `__event_detail_route_view_1522…`.
const pageOf = (key) => key.replace(/^__/, "").replace(/_route_view_\d+$/, "").replaceAll("_", " ");
const pack = (key) => `pack_${key}.${hashes.split}.bin`;
const pages = [
  ["home (the main module)", sizes([main]), null],
  ...Object.entries(manifest).map(([key, stems]) => [
    pageOf(key),
    sizes([main, pack(key)]),
    sizes([main, ...stems.map((s) => `${s}.wasm`)]),
  ]),
].sort((a, b) => b[1].brotli - a[1].brotli);

const kb = (bytes) => `${(bytes / 1000).toFixed(1)} KB`;
for (const [page, s, oneByOne] of pages) {
  const apart = oneByOne ? `; one by one ${kb(oneByOne.brotli)} brotli in ${oneByOne.files} files` : "";
  console.log(`wasm for ${page.padEnd(24)} ${kb(s.brotli).padStart(9)} brotli, ${kb(s.gzip).padStart(9)} gzip, ${kb(s.raw).padStart(10)} raw${apart}`);
}
const home = pages.find(([page]) => page.startsWith("home"))[1];
const [largestPage, largest] = pages[0];
// (This build's: the folder also keeps the previous build's files for tabs still open.)
const splitFiles = new Set(Object.values(manifest).flat()).size;
console.log(`row:\twasm: home page, brotli / gzip / raw (main module)\t${home.brotli} / ${home.gzip} / ${home.raw} bytes\t<= 400 KB on the wire`);
console.log(`row:\twasm: largest page (${largestPage}), brotli / gzip (main module + its pack)\t${largest.brotli} / ${largest.gzip} bytes\t<= 400 KB on the wire`);
console.log(`row:\twasm: split files in all\t${splitFiles}\t`);
