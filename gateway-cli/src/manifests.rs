//! Reading manifest files into one snapshot, with findings that name the file.

use std::path::{Path, PathBuf};

use gateway_core::api::{Diagnostic, LoadOptions, Snapshot};
use gateway_core::{Engine, EngineOptions, GatewayRef, Target};

/// Every finding, prefixed by its file.
pub(crate) struct Findings {
    pub(crate) errors: Vec<String>,
    pub(crate) warnings: Vec<String>,
}

/// Loads every file (directories: their `.yaml`, `.yml` and `.json` files, sorted) into one
/// snapshot.
pub(crate) fn load(
    paths: &[PathBuf],
    options: &LoadOptions,
) -> Result<(Snapshot, Findings), String> {
    let mut snapshot = Snapshot::default();
    let mut findings = Findings {
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    for path in expand(paths)? {
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let show = |d: &Diagnostic| format!("{}: {d}", path.display());
        match Snapshot::load(&bytes, options) {
            Ok(loaded) => {
                findings.warnings.extend(loaded.warnings.iter().map(show));
                snapshot.extend(loaded.snapshot);
            }
            Err(e) => {
                for d in &e.diagnostics {
                    if d.is_error() {
                        findings.errors.push(show(d));
                    } else {
                        findings.warnings.push(show(d));
                    }
                }
            }
        }
    }
    Ok((snapshot, findings))
}

/// Attaches a snapshot read from files, with our controller name. The load findings stay with
/// the command, which prints each with its file.
pub(crate) fn engine(snapshot: Snapshot, controller_name: &str) -> Engine {
    let mut options = EngineOptions::default();
    controller_name.clone_into(&mut options.attach.controller_name);
    Engine::from_snapshot(snapshot, Vec::new(), &options)
}

/// The Gateway of `--gateway NAMESPACE/NAME` (or `NAME`, in `default`); the only one when the
/// option is absent.
pub(crate) fn target(gateway: Option<&str>) -> Result<Target, String> {
    match gateway {
        Some(g) => GatewayRef::parse(g)
            .map(Target::Gateway)
            .map_err(|e| e.to_string()),
        None => Ok(Target::only_gateway()),
    }
}

/// The manifest files named: files as given, directories as their `.yaml`, `.yml` and `.json`
/// files in name order.
pub(crate) fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(|e| format!("{}: {e}", p.display()))?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| is_manifest(f))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn is_manifest(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml" | "json")
    )
}
