//! Helpers shared by the integration tests that run the example programs.

use std::path::PathBuf;

/// The example binary `name`, which `cargo test` builds next to the test
/// binaries (`target/<profile>/examples/`), if it is there.
pub(crate) fn example(name: &str) -> Option<PathBuf> {
    let deps = std::env::current_exe().ok()?.parent()?.to_path_buf();
    let path = deps.parent()?.join("examples").join(name);
    path.exists().then_some(path)
}
