// Dolos's side of bench/code_vs_dolos.py: the share of the registered files' winnowed fingerprints that
// occur in any suspect file, measured the way dipr's `compare` measures it, as one line of JSON.
//
//     node code_vs_dolos.mjs LANGUAGE REGISTERED_DIR SUSPECT_DIR
//
// Run from (or with this file copied into) a directory where `npm install @dodona/dolos-lib` was run.
// Dolos compares files pairwise; its index holds, per file, the set of its fingerprints (`entry.shared`,
// unique ones included) and, per fingerprint, the files it occurs in. Registered fingerprints = the union
// of the registered files' sets; matched = those whose files include a suspect file. Default Dolos
// parameters (k = 23 tree-sitter tokens, window 17).
import { Dolos } from "@dodona/dolos-lib";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const [language, registeredDir, suspectDir] = process.argv.slice(2);
const extension = { rust: ".rs", python: ".py" }[language];

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : path.endsWith(extension) ? [path] : [];
  });
}

const registered = walk(registeredDir);
const suspect = walk(suspectDir);
const bytes = [...registered, ...suspect].reduce((sum, p) => sum + statSync(p).size, 0);
const started = process.hrtime.bigint();
const report = await new Dolos({ language }).analyzePaths([...registered, ...suspect]);
const analysed = Number(process.hrtime.bigint() - started) / 1e9;

const suspectPaths = new Set(suspect);
const registeredPaths = new Set(registered);
const fingerprints = new Set();
for (const entry of report.entries()) {
  if (registeredPaths.has(entry.file.path)) {
    for (const shared of entry.shared) fingerprints.add(shared);
  }
}
let matched = 0;
for (const shared of fingerprints) {
  if (shared.files().some((f) => suspectPaths.has(f.path))) matched += 1;
}
const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
console.log(
  JSON.stringify({
    share: fingerprints.size ? matched / fingerprints.size : 0,
    fingerprints: fingerprints.size,
    matched,
    files: registered.length + suspect.length,
    bytes,
    analyse_s: analysed,
    elapsed_s: elapsed,
  }),
);
