//! Rebuilds the server when the web UI's built files change, so a release binary embeds the
//! UI that `npm run build` (run by scripts/build-web.sh, from scripts/up.sh and
//! scripts/check.sh) last produced. Debug builds read `web/dist` from disk at run time instead
//! (rust-embed's default).
//!
//! Only `web/dist` is tracked: the UI's sources, `node_modules` and the tests do not reach the
//! binary, and scripts/build-web.sh leaves `web/dist` untouched when the sources did not
//! change, so a second `scripts/up.sh` neither recompiles this crate nor relinks dogwatch.

fn main() {
    let dist = std::path::Path::new("../../web/dist");
    if dist.exists() {
        println!("cargo:rerun-if-changed=../../web/dist");
    } else {
        // No UI built yet. A path that does not exist would make cargo rerun this script on
        // every build, so watch the folder that web/dist will appear in: building the UI
        // changes it and re-embeds.
        println!("cargo:rerun-if-changed=../../web");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
