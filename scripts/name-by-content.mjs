// Names the client's files in pkg/ by their content, so the server can mark them immutable
// (src/server/http/assets.rs), and prints the hash.txt that Leptos reads beside the server binary
// to find them. Called by scripts/build.sh after the wasm split, wasm-bindgen and Tailwind.
//
// usage: node scripts/name-by-content.mjs PKG_DIR NAME > hash.txt
//
// The hash is cargo-leptos's: the MD5 of the content in unpadded base64url. The files refer to one
// another, so they are named in an order that renames a file only after the files it names:
// 1. the page and chunk .wasm files the splitter wrote, which name nothing;
// 2. the manifest (page -> the files it needs), which names them;
// 3. NAME.js (wasm-bindgen's glue) and the loader that fetches the split files: each imports the
//    other, so neither name can come from the other's final content. Both take one hash of the
//    two together, so a change in either (or in a file the loader fetches) renames both;
// 4. NAME.wasm and NAME.css, which name nothing.
// Without NAME.wasm (`scripts/build.sh --only=server`), only the stylesheet is named.
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const [pkg, name] = process.argv.slice(2);
if (!pkg || !name) {
  console.error("usage: node scripts/name-by-content.mjs PKG_DIR NAME > hash.txt");
  process.exit(2);
}
// The names tools/wasm-split gives the loader and the manifest, which Leptos also expects.
const LOADER = "__wasm_split.______________________.js";
const MANIFEST = "__wasm_split_manifest.json";

const file = (name) => path.join(pkg, name);
const read = (name) => fs.readFileSync(file(name));
const hashOf = (...contents) => {
  const md5 = createHash("md5");
  for (const content of contents) md5.update(content);
  return md5.digest("base64url");
};
/** Replaces every `from` in `text`, failing when there is none: a reference the build no longer
 * finds would otherwise leave a page fetching a file that is not there. */
const replaceIn = (text, from, to, what) => {
  if (!text.includes(from)) throw new Error(`${what} does not mention ${from}`);
  return text.replaceAll(from, to);
};
const hashes = [];
const client = fs.existsSync(file(`${name}.wasm`));
if (!client) {
  const hash = hashOf(read(`${name}.css`));
  fs.renameSync(file(`${name}.css`), file(`${name}.${hash}.css`));
  console.log(`css: ${hash}`);
  process.exit(0);
}

// 1. The split-out wasm files, and the loader's references to them.
let loader = read(LOADER).toString();
const hashedStems = new Map();
for (const wasm of fs.readdirSync(pkg)) {
  if (!wasm.endsWith(".wasm") || wasm === `${name}.wasm`) continue;
  const stem = wasm.slice(0, -".wasm".length);
  const hashed = `${stem}.${hashOf(read(wasm))}`;
  fs.renameSync(file(wasm), file(`${hashed}.wasm`));
  hashedStems.set(stem, hashed);
  loader = replaceIn(loader, `"./${wasm}"`, `"./${hashed}.wasm"`, "the loader");
}

// 2. The manifest: for each lazy function, the stems of the files it needs.
const manifest = JSON.parse(read(MANIFEST).toString());
for (const [lazy, stems] of Object.entries(manifest)) {
  manifest[lazy] = stems.map((stem) => {
    const hashed = hashedStems.get(stem);
    if (!hashed) throw new Error(`the manifest names ${stem}.wasm, which the splitter did not write`);
    return hashed;
  });
}
const manifestText = JSON.stringify(manifest);
const manifestHash = hashOf(manifestText);
fs.writeFileSync(file(`__wasm_split_manifest.${manifestHash}.json`), manifestText);
fs.rmSync(file(MANIFEST));

// 3. The glue and the loader, under one hash of both.
const glue = read(`${name}.js`).toString();
const both = hashOf(glue, loader);
const loaderName = `__wasm_split.${both}.js`;
// Only the import statements: the glue also keys the wasm's imports by the placeholder name, which
// is what the wasm's import section says, and stays.
fs.writeFileSync(file(`${name}.${both}.js`), replaceIn(glue, `from "./${LOADER}"`, `from "./${loaderName}"`, `${name}.js`));
fs.writeFileSync(file(loaderName), replaceIn(loader, `"./${name}.js"`, `"./${name}.${both}.js"`, "the loader"));
fs.rmSync(file(`${name}.js`));
fs.rmSync(file(LOADER));
hashes.push(`js: ${both}`);

// 4. The main module and the stylesheet.
for (const kind of ["wasm", "css"]) {
  const hash = hashOf(read(`${name}.${kind}`));
  fs.renameSync(file(`${name}.${kind}`), file(`${name}.${hash}.${kind}`));
  hashes.push(`${kind}: ${hash}`);
}

hashes.push(`manifest: ${manifestHash}`, `split: ${both}`);
console.log(hashes.join("\n"));
