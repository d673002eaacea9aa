//! Reading manifest files into one snapshot, with findings that name the file; standard input
//! for `-`; the options that say whose GatewayClasses are ours and what to assume.

use std::io::Read;
use std::path::{Path, PathBuf};

use gateway_core::api::{Diagnostic, LoadOptions, Resource, Snapshot};
use gateway_core::attach::DEFAULT_CONTROLLER_NAME;
use gateway_core::route::BuildError;
use gateway_core::{Engine, EngineOptions, GatewayRef, Target};

/// Every finding, prefixed by its file.
pub(crate) struct Findings {
    pub(crate) errors: Vec<String>,
    pub(crate) warnings: Vec<String>,
}

/// Whose GatewayClasses are ours, and what the manifests may lack: the options of every
/// command that attaches manifests.
#[derive(Debug, clap::Args)]
pub(crate) struct Attach {
    /// The controller name whose GatewayClasses are ours.
    #[arg(long, default_value = DEFAULT_CONTROLLER_NAME)]
    pub(crate) controller_name: String,
    /// Handle the GatewayClass NAME as ours, whether the manifests hold it or not (the
    /// platform installs it); repeat for several.
    #[arg(long = "assume-class", value_name = "NAME")]
    pub(crate) assume_class: Vec<String>,
    /// Take a backendRef to a Service the manifests do not hold as resolved, with the
    /// backendRef's port; decisions and status say which Services were assumed.
    #[arg(long)]
    pub(crate) assume_services: bool,
    /// Implement the mesh (GAMMA): attach routes whose parentRef is a Service and report
    /// their status (an XMesh of our controller name does the same); `route --mesh --json`
    /// routes mesh requests.
    #[arg(long)]
    pub(crate) mesh: bool,
}

/// How much one file (or standard input) may hold: the load limits of
/// [`LoadOptions`], shared by every command that reads manifests.
/// The defaults admit 100,000 resources; `--max-resources` scales the byte, document and YAML
/// node limits with it (as `LoadOptions::for_resources` does) unless they are given too.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Load limits (per file)")]
pub(crate) struct Limits {
    /// Most resources, counting each item of a List [default: 100000]; the next three limits
    /// scale with it unless given.
    #[arg(long, value_name = "N")]
    max_resources: Option<usize>,
    /// Most bytes [default: 1 KiB a resource, 102400000].
    #[arg(long, value_name = "N")]
    max_bytes: Option<usize>,
    /// Most YAML documents or JSON values [default: 2 a resource + 1, 200001].
    #[arg(long, value_name = "N")]
    max_documents: Option<usize>,
    /// Most YAML nodes: scalars, maps and lists, keys included [default: 128 a resource,
    /// 12800000].
    #[arg(long, value_name = "N")]
    max_yaml_nodes: Option<usize>,
    /// Deepest nesting of maps and lists [default: 64].
    #[arg(long, value_name = "N")]
    max_depth: Option<usize>,
    /// Most YAML aliases (`*name`) [default: 1000].
    #[arg(long, value_name = "N")]
    max_yaml_aliases: Option<usize>,
    /// Most parser events YAML aliases may replay in all [default: 100000].
    #[arg(long, value_name = "N")]
    max_yaml_alias_events: Option<usize>,
}

impl Limits {
    /// The load options these limits ask for; the rest are the defaults.
    pub(crate) fn options(&self) -> LoadOptions {
        let mut options = self
            .max_resources
            .map_or_else(LoadOptions::default, LoadOptions::for_resources);
        let given = [
            (self.max_bytes, &mut options.max_bytes),
            (self.max_documents, &mut options.max_documents),
            (self.max_yaml_nodes, &mut options.max_yaml_nodes),
            (self.max_depth, &mut options.max_depth),
            (self.max_yaml_aliases, &mut options.max_yaml_aliases),
            (
                self.max_yaml_alias_events,
                &mut options.max_yaml_alias_events,
            ),
        ];
        for (value, field) in given {
            if let Some(value) = value {
                *field = value;
            }
        }
        options
    }
}

/// Loads every file (directories: their `.yaml`, `.yml` and `.json` files, sorted; `-`:
/// standard input) into one snapshot.
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
        let bytes = read(&path)?;
        let show = |d: &Diagnostic| format!("{}: {d}", display(&path));
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

/// Attaches a snapshot read from files, with our controller name and the assumptions asked
/// for. The load findings stay with the command, which prints each with its file.
pub(crate) fn engine(snapshot: Snapshot, attach: &Attach) -> Engine {
    let mut options = EngineOptions::default();
    attach
        .controller_name
        .clone_into(&mut options.attach.controller_name);
    options
        .attach
        .assumed_classes
        .clone_from(&attach.assume_class);
    options.attach.assume_services = attach.assume_services;
    options.attach.mesh = attach.mesh;
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

/// The router's build error, and when no Gateway of ours was found, what the manifests hold
/// and what to do: manifests from an application repository seldom hold the GatewayClass (the
/// platform installs it) or the Services.
pub(crate) fn build_error(engine: &Engine, error: &BuildError) -> String {
    let none_of_ours = match error {
        BuildError::AmbiguousGateway { known } => known.is_empty(),
        BuildError::UnknownGateway { known, .. } => known.is_empty(),
        _ => false,
    };
    if !none_of_ours {
        return error.to_string();
    }
    format!("{error}{}", found_and_what_to_do(engine))
}

/// Lines (each starting with a newline) naming the Gateways and GatewayClasses the manifests
/// hold, whose classes are ours, and the options that make a Gateway ours.
pub(crate) fn found_and_what_to_do(engine: &Engine) -> String {
    let snapshot = engine.config().snapshot();
    let options = engine.config().options();
    let mut gateways = Vec::new();
    let mut classes = Vec::new();
    for r in snapshot.resources() {
        match r {
            Resource::Gateway(g) => gateways.push(format!(
                "{}/{} (gatewayClassName {})",
                g.metadata.namespace_or_default(),
                g.metadata.name,
                g.spec.gateway_class_name
            )),
            Resource::GatewayClass(c) => classes.push(format!(
                "{} (controllerName {})",
                c.metadata.name, c.spec.controller_name
            )),
            _ => {}
        }
    }
    let mut out = String::new();
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_owned()
        } else {
            items.join(", ")
        }
    };
    out.push_str(&format!("\n  Gateways found: {}", list(&gateways)));
    out.push_str(&format!("\n  GatewayClasses found: {}", list(&classes)));
    out.push_str(&format!(
        "\n  ours are the GatewayClasses whose controllerName is {}",
        options.controller_name
    ));
    if gateways.is_empty() {
        out.push_str("\n  add the manifests that hold the Gateway");
    } else {
        let mut names: Vec<&str> = Vec::new();
        for r in snapshot.resources() {
            if let Resource::Gateway(g) = r
                && !names.contains(&g.spec.gateway_class_name.as_str())
            {
                names.push(&g.spec.gateway_class_name);
            }
        }
        let class = match names.as_slice() {
            [one] => (*one).to_owned(),
            _ => format!("NAME (one of {})", names.join(", ")),
        };
        out.push_str(&format!(
            "\n  to handle the class as ours, pass --assume-class {class}; add --assume-services \
             when the manifests do not hold the Services the routes send to"
        ));
    }
    out
}

/// The manifest files named: files as given, directories as their `.yaml`, `.yml` and `.json`
/// files in name order, `-` (standard input) as is.
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

/// Whether an argument names standard input.
pub(crate) fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// A path as messages show it: `<stdin>` for `-`.
pub(crate) fn display(path: &Path) -> String {
    if is_stdin(path) {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    }
}

/// The bytes of a file, or of standard input for `-`. A path that does not exist but looks
/// like a request gets a word on what a request looks like.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, String> {
    if is_stdin(path) {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("<stdin>: {e}"))?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| {
        let text = path.to_string_lossy();
        let hint = if e.kind() == std::io::ErrorKind::NotFound
            && (text.contains("://") || text.contains(char::is_whitespace))
        {
            "; a request goes after the manifests of `route` or `explain`, as METHOD URL \
             (an upper-case method, an absolute URL), e.g. GET http://shop.example.com/api"
        } else {
            ""
        };
        format!("{}: {e}{hint}", path.display())
    })
}

/// Standard input can be read once: `sources` names each argument that may be `-` and how
/// many times it is; more than one in all is an error naming them.
pub(crate) fn stdin_once(sources: &[(&str, usize)]) -> Result<(), String> {
    let total: usize = sources.iter().map(|(_, n)| n).sum();
    if total <= 1 {
        return Ok(());
    }
    let named: Vec<String> = sources
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| match n {
            1 => (*what).to_owned(),
            n => format!("{what} ({n} times)"),
        })
        .collect();
    Err(format!(
        "`-` (standard input) is given for {}: standard input can be read only once; \
         put all but one in files",
        named.join(" and ")
    ))
}

/// How many of `paths` are `-`.
pub(crate) fn stdin_count(paths: &[PathBuf]) -> usize {
    paths.iter().filter(|p| is_stdin(p)).count()
}
