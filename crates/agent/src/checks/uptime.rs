//! The `uptime` check: seconds since the host booted, from `/proc/uptime`.

use dogwatch_model::{MetricKind, Series};

use super::{Check, CheckContext, CheckError, CheckOutput, unix_now};

pub(crate) const NAME: &str = "uptime";

/// Reports `system.uptime` (gauge, seconds), as Datadog's uptime check does.
pub(crate) struct Uptime;

impl Check for Uptime {
    fn name(&self) -> &'static str {
        NAME
    }

    fn run(&mut self, ctx: &CheckContext) -> Result<CheckOutput, CheckError> {
        // proc(5): /proc/uptime holds "<uptime seconds> <idle seconds>".
        let path = ctx.proc_root.join("uptime");
        let text = std::fs::read_to_string(&path).map_err(|source| CheckError::Read {
            path: path.clone(),
            source,
        })?;
        let uptime: f64 = text
            .split_whitespace()
            .next()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| CheckError::Parse {
                path,
                detail: format!("expected seconds as the first field, found {text:?}"),
            })?;
        Ok(CheckOutput {
            series: vec![Series {
                metric: "system.uptime".into(),
                points: vec![(unix_now().floor(), uptime)],
                kind: MetricKind::Gauge,
                interval: None,
                host: Some(ctx.hostname.clone()),
                tags: ctx.host_tags.clone(),
            }],
            service_checks: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(root: &std::path::Path) -> CheckContext {
        CheckContext {
            hostname: "h".into(),
            host_tags: vec!["a:1".into()],
            proc_root: root.to_path_buf(),
        }
    }

    #[test]
    fn reports_the_first_field_of_proc_uptime_as_a_gauge() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("uptime"), "350735.47 234388.90\n").unwrap();
        let out = Uptime.run(&ctx(dir.path())).unwrap();
        let series = &out.series[0];
        assert_eq!(
            (series.metric.as_str(), series.points[0].1),
            ("system.uptime", 350735.47)
        );
        assert_eq!(
            (series.host.as_deref(), series.tags.as_slice()),
            (Some("h"), ["a:1".to_string()].as_slice())
        );
    }

    #[test]
    fn garbage_in_proc_uptime_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("uptime"), "soon\n").unwrap();
        let err = Uptime.run(&ctx(dir.path())).unwrap_err().to_string();
        assert!(err.contains("uptime") && err.contains("soon"), "{err}");
    }

    #[test]
    fn runs_against_the_real_proc() {
        let out = Uptime.run(&ctx(std::path::Path::new("/proc"))).unwrap();
        assert!(out.series[0].points[0].1 > 0.0);
    }
}
