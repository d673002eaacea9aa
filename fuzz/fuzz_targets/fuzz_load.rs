//! Manifest loading (YAML and JSON) never panics, and whatever loads serializes and loads again.
#![no_main]

use gateway_core::api::{LoadOptions, Snapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut options = LoadOptions::default();
    options.max_bytes = 1 << 20;
    if let Ok(loaded) = Snapshot::load(data, &options) {
        let json = loaded.snapshot.to_json();
        let mut again = LoadOptions::default();
        again.validate = false;
        let reloaded = Snapshot::load(json.as_bytes(), &again);
        assert!(reloaded.is_ok(), "a loaded snapshot must reload: {json}");
        // Attachment and status never panic on anything that loads.
        let config = gateway_core::attach::Config::new(loaded.snapshot, Default::default());
        let _ = config.status().to_json();
    }
});
