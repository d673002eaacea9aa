//! Load and validation findings: which resource, which field, and why.

use std::fmt;

/// Identifies a resource in findings and status: kind, namespace and name.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceId {
    /// The kind, e.g. `HTTPRoute`.
    pub kind: String,
    /// The namespace; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ResourceId {
    /// Builds an id.
    pub fn new(kind: &str, namespace: Option<&str>, name: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// How serious a finding is.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Kept, but worth a look (unknown fields, deprecated versions, regexes that later stages
    /// drop).
    Warning,
    /// The Kubernetes API server would reject the object (or the input cannot be read at all).
    Error,
}

/// One finding about the input: where it is and what is wrong.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The 0-based index of the document (or JSON object, or `List` item's document) in the
    /// input; `None` for findings about the input as a whole.
    pub document: Option<usize>,
    /// The resource, when known.
    pub resource: Option<ResourceId>,
    /// The JSON path of the field, e.g. `spec.rules[2].matches[0].path.value`; empty for the
    /// whole object.
    pub path: String,
    /// Why, in lower case with no trailing period.
    pub message: String,
}

impl Diagnostic {
    /// An error about a field of a resource.
    pub fn error(
        resource: Option<ResourceId>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Error,
            document: None,
            resource,
            path: path.into(),
            message: message.into(),
        }
    }

    /// A warning about a field of a resource.
    pub fn warning(
        resource: Option<ResourceId>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            document: None,
            resource,
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same finding, placed in a document.
    pub fn in_document(mut self, document: usize) -> Self {
        self.document = Some(document);
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })?;
        if let Some(doc) = self.document {
            write!(f, ": document {doc}")?;
        }
        if let Some(resource) = &self.resource {
            write!(f, ": {resource}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Loading failed: the input could not be read, or some resources are invalid. Every finding
/// is kept, not only the first.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// All findings, errors and warnings, in input order.
    pub diagnostics: Vec<Diagnostic>,
}

impl LoadError {
    /// The errors among the findings.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| d.is_error())
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for d in self.errors() {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            write!(f, "{d}")?;
        }
        if first {
            f.write_str("invalid input")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}
