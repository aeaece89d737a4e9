// Packs: the split files a page needs, in one download.
//
// The splitter (tools/wasm-split) cuts each page's code into the page's own file and the chunks it
// shares with other pages: the event page needs 119 files beside the main module. Compressed one
// by one, as a browser fetches them, they cost about 40% more than compressed together (152 KB
// against 110 KB with brotli for the event page), since each file starts compressing from
// nothing. So the first page the browser loads code for takes all its split files as one pack:
// - `pack_{page}.{hash}.bin`: the page's files (those the manifest lists for it) one after the
//   other, behind an index. `hash` is the loader's: the loader names every split file by its
//   content, so the same loader hash means the same packs. The server preloads the pack of the
//   page it sends (src/app/preload.rs).
// - The loader the splitter writes fetches each file with `fetch()`. It is changed here to take a
//   file from the page's pack instead while no page's code has been loaded yet; after that, the
//   next page shares the chunks already loaded and fetches only the files it lacks, one by one.
//   If the pack cannot be had, the files are fetched one by one as before.
//
// usage: node scripts/pack-pages.mjs loader PKG_DIR        (after the splitter, before naming)
//        node scripts/pack-pages.mjs packs PKG_DIR HASH_TXT  (after scripts/name-by-content.mjs)
//
// A pack: a 4-byte little-endian length N, N bytes of JSON `[[file name, byte length], ...]`, then
// the files in that order.
import fs from "node:fs";
import path from "node:path";

const LOADER = "__wasm_split.______________________.js";

/** What the loader gains: packs, opened by the first page that loads split code. */
const PACKS_JS = `
// Skymeet (scripts/pack-pages.mjs): the first page whose code is loaded takes all its split files
// in one download, its pack; each file is then taken from the pack instead of fetched.
const packs = new Map();
let pageLoaded = false;
function inPack(page, load) {
    return () => {
        if (!pageLoaded && !packs.has(page)) packs.set(page, openPack(page));
        pageLoaded = true;
        return load();
    };
}
async function openPack(page) {
    try {
        const hash = new URL(import.meta.url).pathname.match(/__wasm_split\\.([\\w-]+)\\.js$/)?.[1];
        if (!hash) return undefined;
        const response = await fetch(new URL(\`./pack_\${page}.\${hash}.bin\`, import.meta.url));
        if (!response.ok) return undefined;
        const buffer = await response.arrayBuffer();
        const indexLength = new DataView(buffer).getUint32(0, true);
        const index = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, indexLength)));
        const files = new Map();
        let at = 4 + indexLength;
        for (const [name, length] of index) {
            files.set(name, new Uint8Array(buffer, at, length));
            at += length;
        }
        return files;
    } catch (e) {
        console.warn("a page's pack could not be read; its files are fetched one by one", e);
        return undefined;
    }
}
async function splitFile(url) {
    const name = url.pathname.slice(url.pathname.lastIndexOf("/") + 1);
    for (const pack of packs.values()) {
        const files = await pack;
        const bytes = files?.get(name);
        if (bytes) {
            files.delete(name);
            return new Response(bytes, { headers: { "content-type": "application/wasm" } });
        }
    }
    return fetch(url);
}
`;

/** Replaces each match of `pattern` in `text`, failing unless there are exactly `count`. */
function replaceCounted(text, pattern, replacement, count, what) {
  const found = text.match(pattern)?.length ?? 0;
  if (found !== count) {
    throw new Error(`the loader has ${found} ${what}, not ${count}: tools/wasm-split's loader changed`);
  }
  return text.replace(pattern, replacement);
}

function patchLoader(pkg) {
  const file = path.join(pkg, LOADER);
  let loader = fs.readFileSync(file, "utf8");
  const files = fs.readdirSync(pkg).filter((f) => f.endsWith(".wasm")).length;
  const manifest = JSON.parse(fs.readFileSync(path.join(pkg, "__wasm_split_manifest.json"), "utf8"));
  const pages = Object.keys(manifest).length;
  // Every split file's fetch.
  loader = replaceCounted(loader, /fetch\(new URL\("\.\//g, 'splitFile(new URL("./', files, "fetches of split files");
  // Every page's entry, which opens the page's pack before its files are asked for.
  loader = replaceCounted(
    loader,
    /export const __wasm_split_load_(\w+) = wrapAsyncCb\((makeLoad\([\s\S]*?\n, \[[^\]]*\]\))\);/g,
    'export const __wasm_split_load_$1 = wrapAsyncCb(inPack("$1", $2));',
    pages,
    "page entries",
  );
  const afterImports = loader.indexOf("\n") + 1;
  fs.writeFileSync(file, loader.slice(0, afterImports) + PACKS_JS + loader.slice(afterImports));
}

function writePacks(pkg, hashFile) {
  const hashes = Object.fromEntries(
    fs.readFileSync(hashFile, "utf8").trim().split("\n").map((line) => line.split(": ")),
  );
  if (!hashes.split || !hashes.manifest) throw new Error(`${hashFile} names no loader or manifest`);
  const manifest = JSON.parse(fs.readFileSync(path.join(pkg, `__wasm_split_manifest.${hashes.manifest}.json`), "utf8"));
  for (const [page, stems] of Object.entries(manifest)) {
    const files = stems.map((stem) => [`${stem}.wasm`, fs.readFileSync(path.join(pkg, `${stem}.wasm`))]);
    const index = Buffer.from(JSON.stringify(files.map(([name, bytes]) => [name, bytes.length])));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(index.length);
    fs.writeFileSync(
      path.join(pkg, `pack_${page}.${hashes.split}.bin`),
      Buffer.concat([length, index, ...files.map(([, bytes]) => bytes)]),
    );
  }
}

const [command, pkg, hashFile] = process.argv.slice(2);
if (command === "loader" && pkg) patchLoader(pkg);
else if (command === "packs" && pkg && hashFile) writePacks(pkg, hashFile);
else {
  console.error("usage: node scripts/pack-pages.mjs loader PKG_DIR | packs PKG_DIR HASH_TXT");
  process.exit(2);
}
