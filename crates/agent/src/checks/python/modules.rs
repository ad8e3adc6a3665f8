//! The Python source the agent ships (`crates/agent/python/`): the host's main script and the
//! modules Datadog's agent embeds in its interpreter (`aggregator`, `datadog_agent`, `_util`,
//! `tagger`, `util`, `containers`, `kubeutil`) plus the legacy `checks` package. They are
//! compiled into the binary and written to `<run_path>/python/` before the host starts.

use std::io;
use std::path::Path;

/// The host's main script.
pub(crate) const HOST_SCRIPT: &str = "dogwatch_check_host.py";

/// Every file, by its path under the modules directory.
pub(crate) const FILES: &[(&str, &str)] = &[
    (HOST_SCRIPT, include_str!("../../../python/dogwatch_check_host.py")),
    ("_dogwatch.py", include_str!("../../../python/_dogwatch.py")),
    ("aggregator.py", include_str!("../../../python/aggregator.py")),
    ("datadog_agent.py", include_str!("../../../python/datadog_agent.py")),
    ("_util.py", include_str!("../../../python/_util.py")),
    ("tagger.py", include_str!("../../../python/tagger.py")),
    ("util.py", include_str!("../../../python/util.py")),
    ("containers.py", include_str!("../../../python/containers.py")),
    ("kubeutil.py", include_str!("../../../python/kubeutil.py")),
    ("checks/__init__.py", include_str!("../../../python/checks/__init__.py")),
    (
        "checks/_agent_check.py",
        include_str!("../../../python/checks/_agent_check.py"),
    ),
];

/// Writes every file under `dir`, replacing only those whose text differs.
pub(crate) fn write(dir: &Path) -> io::Result<()> {
    for (rel, text) in FILES {
        let path = dir.join(rel);
        if std::fs::read(&path).is_ok_and(|old| old == text.as_bytes()) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let tmp = path.with_extension("py.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(())
}
