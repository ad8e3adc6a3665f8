//! Rebuilds the server when the web UI's built files change, so a release binary embeds the
//! UI that `npm run build` (run by scripts/up.sh and scripts/check.sh) last produced.
//! Debug builds read `web/dist` from disk at run time instead (rust-embed's default).

fn main() {
    let dist = std::path::Path::new("../../web/dist");
    if dist.exists() {
        println!("cargo:rerun-if-changed=../../web/dist");
    } else {
        // No UI built yet: watch web/ so that building it (which creates dist/) re-embeds.
        println!("cargo:rerun-if-changed=../../web");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
