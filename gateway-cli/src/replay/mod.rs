//! `gateway replay DIR`: the conformance corpus (the format of ../shared/conformance) replayed
//! in memory. Each case's manifests are loaded (placeholders filled, the suite's Secrets and
//! ConfigMaps synthesized), mutations applied phase by phase, every status expectation checked
//! against the computed status, and every request routed and compared with what the echo
//! backend and the client would have seen.
//!
//! Output: `FAIL <test> <what>: <difference>` per failing check, `KNOWN <test> ...` per check
//! listed in the known-failures file, and a last line `N passed, M failed, K skipped` where K
//! counts known failures and checks the corpus could not express. The exit status is 1 when M
//! is not 0.

mod case;
mod mesh;
mod requests;
mod setup;
mod status;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gateway_core::api::{LoadOptions, Snapshot};
use gateway_core::{Engine, EngineOptions, GatewayRef, Router, Target};

use case::Case;

/// Arguments of `gateway replay`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The corpus directory (holding `cases/` and `manifests/`).
    dir: PathBuf,
    /// A file of known failures: lines `<test>` or `<test> <check id>`, `#` comments; `-` for
    /// standard input.
    #[arg(long)]
    known: Option<PathBuf>,
    /// Replay only the cases whose name contains this text.
    #[arg(long)]
    case: Option<String>,
    /// Also print passing checks.
    #[arg(long, short)]
    verbose: bool,
    #[command(flatten)]
    limits: crate::manifests::Limits,
}

const CONTROLLER: &str = "gateway.example.dev/conformance-replay";

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode, String> {
    if crate::manifests::is_stdin(&args.dir) {
        return Err(
            "replay reads a corpus directory (cases/ and manifests/), which standard input \
             cannot hold; `-` is for --known"
                .to_owned(),
        );
    }
    let known = match &args.known {
        Some(path) => read_known(path)?,
        None => BTreeMap::new(),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(args.dir.join("cases"))
        .map_err(|e| format!("{}: {e}", args.dir.join("cases").display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let programmatic = setup::programmatic_resources(&args.dir)?;
    let deployments = Deployments::read(&args.dir, "backends.json")?;
    let load = args.limits.options();
    let mut tally = Tally::default();
    let mut used_known = std::collections::BTreeSet::new();
    // Per feature: (fully expressed cases, of which some check did not pass).
    let mut features: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for file in files {
        let text =
            std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let case: Case =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        if args
            .case
            .as_ref()
            .is_some_and(|c| !case.name.contains(c.as_str()))
        {
            continue;
        }
        let mut case_failed = false;
        let mut report = |id: String, result: Result<(), String>, skip: Option<String>| {
            case_failed |= result.is_err() && skip.is_none();
            let seen = (&known, &mut used_known, &mut tally);
            tally_one(&case.name, id, result, skip, seen, args.verbose);
        };
        replay_case(
            &args.dir,
            &case,
            &programmatic,
            &deployments,
            &load,
            &mut report,
        );
        if case.expressed == "full" {
            for f in &case.features {
                let entry = features.entry(f.clone()).or_default();
                entry.0 += 1;
                entry.1 += usize::from(case_failed);
            }
        }
    }
    // The mesh (GAMMA) cases, when the corpus has them.
    let mesh_dir = args.dir.join("cases-mesh");
    let mut mesh_features: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut mesh_cases = 0;
    if mesh_dir.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&mesh_dir)
            .map_err(|e| format!("{}: {e}", mesh_dir.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        let deployments = Deployments::read(&args.dir, "mesh-backends.json")?;
        for file in files {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let case: Case =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
            if case.profile.as_deref() != Some("mesh")
                || args
                    .case
                    .as_ref()
                    .is_some_and(|c| !case.name.contains(c.as_str()))
            {
                continue;
            }
            mesh_cases += 1;
            let mut case_failed = false;
            let mut report = |id: String, result: Result<(), String>, skip: Option<String>| {
                case_failed |= result.is_err() && skip.is_none();
                let seen = (&known, &mut used_known, &mut tally);
                tally_one(&case.name, id, result, skip, seen, args.verbose);
            };
            mesh::replay_case(&args.dir, &case, &deployments, &load, &mut report);
            if case.expressed == "full" {
                for f in &case.features {
                    let entry = mesh_features.entry(f.clone()).or_default();
                    entry.0 += 1;
                    entry.1 += usize::from(case_failed);
                }
            }
        }
        if mesh_cases == 0 && args.case.is_none() {
            tally.failed += 1;
            println!(
                "FAIL cases-mesh: {} holds no mesh case (profile \"mesh\")",
                mesh_dir.display()
            );
        }
    }
    if args.case.is_none() {
        // Features whose fully expressed cases all pass: what `supportedFeatures` may claim.
        let passing = |features: &BTreeMap<String, (usize, usize)>| -> String {
            features
                .iter()
                .filter(|(_, (_, failed))| *failed == 0)
                .map(|(f, _)| f.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        println!("FEATURES {}", passing(&features));
        if mesh_dir.is_dir() {
            println!("MESH FEATURES {}", passing(&mesh_features));
        }
    }
    // The known-failures list may only shrink: an entry that no longer fails is an error.
    for (name, item) in known.keys() {
        let ran = args.case.as_ref().is_none_or(|c| name.contains(c.as_str()));
        if ran && !used_known.contains(&(name.clone(), item.clone())) {
            tally.failed += 1;
            match item {
                Some(item) => {
                    println!("STALE {name} {item}: listed as a known failure but passes; remove it")
                }
                None => println!("STALE {name}: listed as a known failure but passes; remove it"),
            }
        }
    }
    println!(
        "{} passed, {} failed, {} skipped",
        tally.passed, tally.failed, tally.skipped
    );
    Ok(if tally.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The known failures: `(test, check id or none)` to why.
type Known = BTreeMap<(String, Option<String>), String>;

/// Counts and prints one check of case `name`: skipped (`skip`), passed, failed, or a known
/// failure (then marked used in `used_known`).
fn tally_one(
    name: &str,
    id: String,
    result: Result<(), String>,
    skip: Option<String>,
    (known, used_known, tally): (
        &Known,
        &mut std::collections::BTreeSet<(String, Option<String>)>,
        &mut Tally,
    ),
    verbose: bool,
) {
    let item_key = (name.to_owned(), Some(id.clone()));
    let case_key = (name.to_owned(), None);
    let (key, why) = match known.get(&item_key) {
        Some(why) => (item_key, Some(why)),
        None => (case_key.clone(), known.get(&case_key)),
    };
    if let Some(why) = skip {
        tally.skipped += 1;
        if verbose {
            println!("SKIP {name} {id}: {why}");
        }
        return;
    }
    match result {
        Ok(()) => {
            tally.passed += 1;
            if verbose {
                println!("PASS {name} {id}");
            }
        }
        Err(diff) => match why {
            Some(why) => {
                tally.skipped += 1;
                used_known.insert(key);
                println!("KNOWN {name} {id}: {diff} [{why}]");
            }
            None => {
                tally.failed += 1;
                println!("FAIL {name} {id}: {diff}");
            }
        },
    }
}

type Report<'a> = dyn FnMut(String, Result<(), String>, Option<String>) + 'a;

/// Compares one observation of a request case with its expectation.
type Compare = dyn Fn(
    &case::RequestCase,
    &requests::Observed,
    &dyn Fn(&str, &str) -> String,
) -> Result<(), String>;

fn replay_case(
    dir: &Path,
    case: &Case,
    programmatic: &str,
    deployments: &Deployments,
    load: &LoadOptions,
    report: &mut Report<'_>,
) {
    // The suite runs against a GatewayClass the implementation provides.
    let mut text = format!(
        "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {{name: {}}}\nspec: {{controllerName: {CONTROLLER}}}\n---\n",
        setup::CLASS_NAME
    );
    for file in &case.manifests {
        match setup::manifest_text(dir, file, CONTROLLER) {
            Ok(t) => {
                text.push_str(&t);
                text.push_str("\n---\n");
            }
            Err(e) => return report("setup".to_owned(), Err(e), None),
        }
    }
    let (mut snapshot, mut findings) = match Snapshot::load(text.as_bytes(), load) {
        Ok(l) => (l.snapshot, l.warnings),
        Err(e) => {
            return report(
                "setup".to_owned(),
                Err(format!("manifests do not load: {e}")),
                None,
            );
        }
    };
    match Snapshot::load(programmatic.as_bytes(), load) {
        Ok(l) => {
            findings.extend(l.warnings);
            snapshot.extend(l.snapshot);
        }
        Err(e) => {
            return report(
                "setup".to_owned(),
                Err(format!("programmatic resources: {e}")),
                None,
            );
        }
    }
    let mut options = EngineOptions::default();
    options.attach.controller_name = CONTROLLER.to_owned();
    options.attach.address_pool = vec![setup::USABLE_ADDRESS.to_owned()];
    let phases = case.mutations.iter().map(|m| m.phase).max().unwrap_or(0);
    let mut broken: Option<String> = None;
    let mut before: Option<Snapshot> = None;
    for phase in 0..=phases {
        if phase > 0 {
            before = Some(snapshot.clone());
            for m in case.mutations.iter().filter(|m| m.phase == phase) {
                if let Err(e) = setup::apply(&mut snapshot, m) {
                    broken.get_or_insert(e);
                }
            }
        }
        // Each phase attaches the snapshot as its mutations left it.
        let engine = Engine::from_snapshot(snapshot.clone(), findings.clone(), &options);
        let config = engine.config();
        let status = engine.status();
        let skip = || {
            broken.clone().map(|b| {
                format!("phase {phase} follows a mutation the corpus could not express: {b}")
            })
        };

        for (i, e) in case
            .expected_conditions
            .iter()
            .enumerate()
            .filter(|(_, e)| e.phase == phase)
        {
            report(
                id("condition", i, &e.subtest),
                status::condition(status, e),
                skip(),
            );
        }
        for (i, e) in case
            .expected_route_parents
            .iter()
            .enumerate()
            .filter(|(_, e)| e.phase == phase)
        {
            report(
                id("parents", i, &e.subtest),
                status::route_parents(status, e, CONTROLLER),
                skip(),
            );
        }
        for (i, e) in case
            .expected_listeners
            .iter()
            .enumerate()
            .filter(|(_, e)| e.phase == phase)
        {
            report(
                id("listeners", i, &e.subtest),
                status::listeners(status, e),
                skip(),
            );
        }
        for (i, e) in case
            .expected_status
            .iter()
            .enumerate()
            .filter(|(_, e)| e.phase == phase)
        {
            report(
                id(&e.check, i, &e.subtest),
                status::other(status, config.snapshot(), before.as_ref(), e),
                skip(),
            );
        }
        let mut routers: BTreeMap<(String, String), Result<Router, String>> = BTreeMap::new();
        for (i, r) in case
            .requests
            .iter()
            .enumerate()
            .filter(|(_, r)| r.phase == phase)
        {
            let rid = id("request", i, &r.subtest);
            if r.unexpressed.is_some() {
                report(
                    rid,
                    Ok(()),
                    Some("the corpus could not express this request".to_owned()),
                );
                continue;
            }
            let key = (
                r.gateway.namespace.clone().unwrap_or_default(),
                r.gateway.name.clone(),
            );
            let router = routers.entry(key.clone()).or_insert_with(|| {
                let gateway = GatewayRef::from_parts(&key.0, &key.1);
                engine
                    .router(&Target::Gateway(gateway))
                    .map_err(|e| e.to_string())
            });
            let router = match router {
                Ok(r) => r,
                Err(e) => {
                    report(rid, Err(e.clone()), skip());
                    continue;
                }
            };
            let deployment = |ns: &str, svc: &str| deployments.of(&case.name, ns, svc);
            let chains = |ns: &str, svc: &str| {
                setup::serving_chain(config.snapshot(), &deployments.of(&case.name, ns, svc))
            };
            let result = match (&r.expect.distribution, &r.expect.mirror_distribution) {
                (Some(dist), _) => distribution(
                    &|random| Ok(requests::observe(router, r, random, &chains)),
                    r,
                    dist,
                    &deployment,
                    &requests::compare,
                ),
                (None, Some(dist)) => mirror_distribution(router, r, dist, &deployment, &chains),
                (None, None) => {
                    requests::compare(r, &requests::observe(router, r, 0, &chains), &deployment)
                }
            };
            report(rid, result, skip());
        }
    }
}

fn id(what: &str, index: usize, subtest: &Option<String>) -> String {
    match subtest {
        Some(s) => format!("{what} {index} ({s})"),
        None => format!("{what} {index}"),
    }
}

/// Weighted backends: `samples` requests with spread random draws; each must meet the rest of
/// the expectation, and the shares must be within the tolerance of the weights.
/// `observe` sends the request with one random draw; `compare` checks one observation.
fn distribution(
    observe: &dyn Fn(u64) -> Result<requests::Observed, String>,
    r: &case::RequestCase,
    dist: &case::Distribution,
    deployment: &dyn Fn(&str, &str) -> String,
    compare: &Compare,
) -> Result<(), String> {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for i in 0..u64::from(dist.samples) {
        // Stratified draws: sample i takes the middle of the i-th of `samples` equal slices of
        // the u64 range, so the replay measures the weights, not the luck of a generator.
        let slice = u64::MAX / u64::from(dist.samples.max(1));
        let random = slice.saturating_mul(i).saturating_add(slice / 2);
        let seen = observe(random)?;
        compare(r, &seen, deployment)?;
        if let Some((ns, svc)) = &seen.backend {
            *counts.entry(deployment(ns, svc)).or_default() += 1;
        }
    }
    for (name, weight) in &dist.backends {
        let weight = weight.as_f64().unwrap_or(0.0);
        let got = counts
            .iter()
            .filter(|(pod, _)| pod.starts_with(name.as_str()))
            .map(|(_, c)| *c)
            .sum::<u32>();
        let share = f64::from(got) / f64::from(dist.samples.max(1));
        if (share - weight).abs() > dist.tolerance || (weight == 0.0) != (got == 0) {
            return Err(format!(
                "backend {name}: share {share:.3} expected {weight:.3} ± {}",
                dist.tolerance
            ));
        }
    }
    Ok(())
}

/// Percentage mirrors: `samples` requests with spread random draws; each mirror with a percent
/// must receive its share within the relative tolerance.
fn mirror_distribution(
    router: &Router,
    r: &case::RequestCase,
    dist: &case::MirrorDistribution,
    deployment: &dyn Fn(&str, &str) -> String,
    chains: &requests::Chains<'_>,
) -> Result<(), String> {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    let slice = u64::MAX / u64::from(dist.samples.max(1));
    for i in 0..u64::from(dist.samples) {
        let seen = requests::observe(
            router,
            r,
            slice.saturating_mul(i).saturating_add(slice / 2),
            chains,
        );
        requests::compare(r, &seen, deployment)?;
        for (ns, svc) in &seen.mirrors {
            *counts.entry(deployment(ns, svc)).or_default() += 1;
        }
    }
    for m in r.expect.mirrored_to.iter().flatten() {
        let got = counts
            .iter()
            .filter(|(pod, _)| pod.starts_with(m.name.as_str()))
            .map(|(_, c)| *c)
            .sum::<u32>();
        let want = f64::from(dist.samples) * m.percent.unwrap_or(100.0) / 100.0;
        if (f64::from(got) - want).abs() > want * dist.relative_tolerance_percent / 100.0 {
            return Err(format!(
                "mirror {}: {got} of {} mirrored, expected about {want:.0}",
                m.name, dist.samples
            ));
        }
    }
    Ok(())
}

fn read_known(path: &Path) -> Result<Known, String> {
    let bytes = crate::manifests::read(path)?;
    let text = String::from_utf8(bytes)
        .map_err(|e| format!("{}: {e}", crate::manifests::display(path)))?;
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let (entry, why) = line.split_once('#').unwrap_or((line, ""));
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let (name, item) = match entry.split_once(' ') {
            Some((n, i)) => (n.to_owned(), Some(i.trim().to_owned())),
            None => (entry.to_owned(), None),
        };
        out.insert((name, item), why.trim().to_owned());
    }
    Ok(out)
}

/// Which Deployment's pods serve a Service (backends.json).
struct Deployments {
    base: Vec<(String, String, Vec<String>)>,
    per_test: BTreeMap<String, Vec<(String, String, Vec<String>)>>,
}

impl Deployments {
    /// `file`: `backends.json`, or `mesh-backends.json` for the mesh cases.
    fn read(dir: &Path, file: &str) -> Result<Self, String> {
        let path = dir.join(file);
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let entries = |v: &serde_json::Value| -> Vec<(String, String, Vec<String>)> {
            v.as_array()
                .into_iter()
                .flatten()
                .map(|e| {
                    let s = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                    let services = e["services"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect();
                    (s("namespace"), s("deployment"), services)
                })
                .collect()
        };
        let per_test = v["per_test"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, val)| (k.clone(), entries(val)))
            .collect();
        Ok(Self {
            base: entries(&v["base"]),
            per_test,
        })
    }

    fn of(&self, case: &str, ns: &str, svc: &str) -> String {
        let find = |list: &[(String, String, Vec<String>)]| {
            list.iter()
                .find(|(n, _, services)| n == ns && services.iter().any(|s| s == svc))
                .map(|(_, d, _)| d.clone())
        };
        self.per_test
            .get(case)
            .and_then(|l| find(l))
            .or_else(|| find(&self.base))
            .unwrap_or_else(|| svc.to_owned())
    }
}
