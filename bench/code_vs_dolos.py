#!/usr/bin/env python3
"""dipr's code containment against Dolos (winnowing over tree-sitter tokens), on the same suspects, in one run.

The cases are those of crates/dipr-package/tests/code_containment.rs, built again here into a temp dir:
a Rust crate from cargo's registry sources (semver, with eight other crates as the foreign codebase) and,
when pip can fetch it, a Python package (attrs 26.1.0 sdist, with part of the python3 standard library
as the foreign codebase), copied as

  reformatted   rustfmt max_width=60,tab_spaces=2 / black -l 40 (skipped when black is missing)
  renamed       every bound, function and type name renamed by whole words; comments dropped, new ones added
  split+merged  every file cut at a top-level blank line past its middle, halves joined to the next file's
  mixed         the whole copy under vendor/ in the foreign codebase
  half          every other file, with ten foreign files; truth = their share of the code lines
  unrelated     the foreign codebase alone

For each case: the truth, dipr's share (distinct registered fingerprints found in the suspect; k = 24
normalised tokens, w = 8), and Dolos's share measured the same way from its index (see code_vs_dolos.mjs;
k = 23, window 17, its defaults), and each tool's time for fingerprinting both trees and comparing them
(in process, start-up excluded) as files/s and MB/s over the registered and suspect files together.

Usage (from the repository root):
    CARGO_TARGET_DIR=... cargo build --release -p dipr-package --example code_contain
    python3 bench/code_vs_dolos.py [--dipr PATH] [--dolos-dir DIR] [--attrs-sdist FILE]

--dolos-dir (default bench/.dolos, git-ignored) gets `npm install @dodona/dolos-lib` when it has none.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

RUST_KEYWORDS = set(
    "as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod "
    "move mut pub ref return self Self static struct super trait true type union unsafe use where while".split()
)
PYTHON_KEYWORDS = set(
    "False None True and as assert async await break class continue def del elif else except finally for from "
    "global if import in is lambda nonlocal not or pass raise return try while with yield self".split()
)
RUST_DEFINERS = ["let ", "let mut ", "fn ", "struct ", "enum ", "trait ", "const ", "static ", "type "]
PYTHON_DEFINERS = ["def ", "class ", "for ", "self."]
FOREIGN_CRATES = ["itoa", "ryu", "smallvec", "hex", "either", "arrayvec", "base64", "bytes"]
FOREIGN_PYTHON = ["json", "email", "http", "logging", "asyncio"]


def registry_crate(name):
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    found = sorted(glob.glob(os.path.join(home, "registry/src/*", f"{name}-[0-9]*")))
    return found[-1] if found else None


def read_tree(root, ext):
    files = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith(ext):
                path = os.path.join(dirpath, name)
                try:
                    with open(path, encoding="utf-8") as f:
                        files[os.path.relpath(path, root)] = f.read()
                except UnicodeDecodeError:
                    pass
    return dict(sorted(files.items()))


def write_tree(root, files):
    shutil.rmtree(root, ignore_errors=True)
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(text)


def prefixed(prefix, files):
    return {f"{prefix}/{p}": t for p, t in files.items()}


def rename(files, definers, keywords):
    names = {}
    for text in files.values():
        for definer in definers:
            for m in re.finditer(r"(?<![\w])" + re.escape(definer) + r"(\w+)", text):
                name = m.group(1)
                if name not in keywords and name != "_":
                    names.setdefault(name, f"renamed_{len(names)}")
    word = re.compile(r"\w+")
    return {p: word.sub(lambda m: names.get(m.group(0), m.group(0)), t) for p, t in files.items()}


def recomment(files, comment, marker):
    out = {}
    for path, text in files.items():
        lines = []
        for line in text.splitlines():
            if line.lstrip().startswith(comment):
                continue
            if line.lstrip().startswith(marker):
                lines.append(f"{comment} reviewed: keep in step with upstream")
            lines.append(line)
        out[path] = "\n".join(lines) + "\n"
    return out


def split_and_merge(files, ext):
    halves = []
    for text in files.values():
        lines = text.splitlines()
        cut = next(
            (i for i in range(len(lines) // 2, len(lines))
             if lines[i] == "" and i + 1 < len(lines) and lines[i + 1][:1] not in ("", " ", "\t")),
            len(lines) // 2,
        )
        halves.append(("\n".join(lines[:cut]) + "\n", "\n".join(lines[cut:]) + "\n"))
    return {f"merged_{i}{ext}": halves[i][1] + halves[(i + 1) % len(halves)][0] for i in range(len(halves))}


def reformat(files, ext, command, work):
    root = os.path.join(work, "fmt")
    write_tree(root, files)
    try:
        subprocess.run(command + [os.path.join(root, p) for p in files], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return read_tree(root, ext)


def code_lines(files, comment):
    count = 0
    for text in files.values():
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith((comment, "/*", "*")):
                count += 1
    return count


def cases(registered, foreign, ext, comment, marker, definers, keywords, formatted):
    half = dict(list(registered.items())[::2])
    out = []
    if formatted is not None:
        out.append(("reformatted", 1.0, formatted))
    out += [
        ("renamed", 1.0, recomment(rename(registered, definers, keywords), comment, marker)),
        ("split+merged", 1.0, split_and_merge(registered, ext)),
        ("mixed", 1.0, {**prefixed("vendor/pkg", registered), **foreign}),
        ("half", code_lines(half, comment) / code_lines(registered, comment),
         {**half, **dict(list(foreign.items())[:10])}),
        ("unrelated", 0.0, foreign),
    ]
    return out


def run_json(cmd, cwd=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=cwd)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dipr", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"),
                                                   "release/examples/code_contain"))
    ap.add_argument("--dolos-dir", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), ".dolos"))
    ap.add_argument("--attrs-sdist", help="attrs .tar.gz (else pip download attrs==26.1.0)")
    args = ap.parse_args()

    if not os.path.isdir(os.path.join(args.dolos_dir, "node_modules/@dodona/dolos-lib")):
        os.makedirs(args.dolos_dir, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", args.dolos_dir, "@dodona/dolos-lib"], check=True)
    script = os.path.join(args.dolos_dir, "code_vs_dolos.mjs")
    shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), "code_vs_dolos.mjs"), script)

    work = tempfile.mkdtemp(prefix="dipr-code-vs-dolos-")
    suites = []
    crate = registry_crate("semver")
    reg_rs = read_tree(os.path.join(crate, "src"), ".rs")
    foreign_rs = {}
    for name in FOREIGN_CRATES:
        if registry_crate(name):
            foreign_rs.update(prefixed(name, read_tree(os.path.join(registry_crate(name), "src"), ".rs")))
    fmt = ["rustfmt", "--edition", "2021", "--config", "max_width=60,tab_spaces=2,brace_style=AlwaysNextLine"]
    suites.append(("rust", os.path.basename(crate), ".rs", reg_rs,
                   cases(reg_rs, foreign_rs, ".rs", "//", "fn ", RUST_DEFINERS, RUST_KEYWORDS,
                         reformat(reg_rs, ".rs", fmt, work))))

    sdist = args.attrs_sdist
    if not sdist:
        dl = os.path.join(work, "pip")
        ok = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                             "attrs==26.1.0", "-d", dl], capture_output=True).returncode == 0
        sdist = next(iter(glob.glob(os.path.join(dl, "*.tar.gz"))), None) if ok else None
    if sdist:
        unpacked = os.path.join(work, "attrs")
        os.makedirs(unpacked)
        subprocess.run(["tar", "xzf", sdist, "-C", unpacked], check=True)
        src = os.path.join(glob.glob(os.path.join(unpacked, "*"))[0], "src")
        reg_py = read_tree(src, ".py")
        stdlib = os.path.dirname(os.path.dirname(json.__file__))
        foreign_py = {}
        for name in FOREIGN_PYTHON:
            foreign_py.update(prefixed(name, read_tree(os.path.join(stdlib, name), ".py")))
        formatted = reformat(reg_py, ".py", ["black", "--quiet", "-l", "40"], work)
        if formatted is None:
            print("SKIPPED python reformatted: black is not installed", file=sys.stderr)
        suites.append(("python", os.path.basename(glob.glob(os.path.join(unpacked, "*"))[0]), ".py", reg_py,
                       cases(reg_py, foreign_py, ".py", "#", "def ", PYTHON_DEFINERS, PYTHON_KEYWORDS, formatted)))
    else:
        print("SKIPPED python: pip download attrs failed and no --attrs-sdist", file=sys.stderr)

    header = (f"{'lang':<7}{'case':<14}{'truth':>6}{'dipr':>7}{'Dolos':>7}  {'files':>5} {'MB':>6}  "
              f"{'dipr s':>7} {'files/s':>8} {'MB/s':>6}  {'Dolos s':>7} {'files/s':>8} {'MB/s':>6}")
    print(header)
    print("-" * len(header))
    for language, name, ext, registered, suite in suites:
        reg_dir = os.path.join(work, language, "registered")
        write_tree(reg_dir, registered)
        for case, truth, suspect in suite:
            sus_dir = os.path.join(work, language, "suspect")
            write_tree(sus_dir, suspect)
            d = run_json([args.dipr, reg_dir, sus_dir])
            o = run_json(["node", script, language, reg_dir, sus_dir], cwd=args.dolos_dir)
            files, mb = o["files"], o["bytes"] / 1e6
            print(f"{language:<7}{case:<14}{truth:>6.3f}{d['share']:>7.3f}{o['share']:>7.3f}  {files:>5} {mb:>6.2f}  "
                  f"{d['elapsed_s']:>7.3f} {files / d['elapsed_s']:>8.0f} {mb / d['elapsed_s']:>6.1f}  "
                  f"{o['elapsed_s']:>7.3f} {files / o['elapsed_s']:>8.0f} {mb / o['elapsed_s']:>6.1f}")
        print(f"  ({language}: registered {name}, {len(registered)} files)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
