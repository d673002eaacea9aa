//! The library's top-level modules import one way: each may use only the modules of lower
//! layers (ARCHITECTURE.md). This test reads the sources and fails on an upward or sideways
//! `crate::` reference, and on a new top-level module that has no layer yet.

// A test that reads the crate's own sources: the no-I/O rule is for the library.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Every top-level module and its layer, lowest first. A module may import the modules of
/// strictly lower layers only.
const LAYERS: &[(&str, u8)] = &[
    ("outcome", 0),
    ("request", 1),
    ("api", 1),
    ("filter", 2),
    ("attach", 3),
    ("tls", 4),
    ("route", 5),
    ("plan", 6),
    ("json", 7),
    ("engine", 7),
];

#[test]
fn top_level_modules_import_only_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut problems = Vec::new();
    for module in top_level_modules(&src) {
        let Some(&layer) = layers.get(module.as_str()) else {
            problems.push(format!(
                "module `{module}` has no layer: add it to LAYERS and ARCHITECTURE.md"
            ));
            continue;
        };
        for file in sources(&src, &module) {
            let text = fs::read_to_string(&file).unwrap();
            for (line_no, line) in library_lines(&text) {
                for used in crate_references(line) {
                    if used == module {
                        continue;
                    }
                    match layers.get(used) {
                        Some(&l) if l < layer => {}
                        Some(&l) => problems.push(format!(
                            "{}:{}: `{module}` (layer {layer}) uses `crate::{used}` (layer {l})",
                            file.display(),
                            line_no
                        )),
                        None => {}
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_sees_an_upward_reference() {
    let refs: Vec<&str> =
        crate_references("use crate::route::{Decision}; crate::plan::plan(x)").collect();
    assert_eq!(refs, ["route", "plan"]);
    let grouped: Vec<&str> =
        crate_references("use crate::{api::Resource, route::Router};").collect();
    assert_eq!(grouped, ["api", "route"]);
    let code = "fn a() {}\n// crate::plan in a comment\n#[cfg(test)]\nmod tests;\n";
    let lines: Vec<&str> = library_lines(code).map(|(_, l)| l).collect();
    assert_eq!(lines, ["fn a() {}", "#[cfg(test)]", "mod tests;"]);
}

/// The names of `src`'s top-level modules (files and directories), `lib.rs` aside.
fn top_level_modules(src: &Path) -> Vec<String> {
    let mut modules: Vec<String> = fs::read_dir(src)
        .unwrap()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let module = name.strip_suffix(".rs").unwrap_or(&name).to_owned();
            (module != "lib").then_some(module)
        })
        .collect();
    modules.sort();
    modules.dedup();
    modules
}

/// The library source files of a module: `module.rs` and everything under `module/`, without
/// unit-test files.
fn sources(src: &Path, module: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let file = src.join(format!("{module}.rs"));
    if file.is_file() {
        files.push(file);
    }
    let mut dirs = vec![src.join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "tests") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "tests.rs")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The lines of library code (1-based numbers), without comments and without an inline
/// `#[cfg(test)] mod tests { ... }` at the end of a file.
fn library_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let end = text.find("#[cfg(test)]\nmod tests {").unwrap_or(text.len());
    text[..end]
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.starts_with("//"))
}

/// The top-level modules a line names with `crate::module` or `use crate::{module, ...}`.
fn crate_references(line: &str) -> impl Iterator<Item = &str> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = group.split('}').next().unwrap_or("");
            for item in inner.split(',') {
                let name = item.trim().split("::").next().unwrap_or("").trim();
                if !name.is_empty() {
                    names.push(name);
                }
            }
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            names.push(&rest[..end]);
        }
    }
    names.into_iter()
}
