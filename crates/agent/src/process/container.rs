//! The container a process runs in, from its `/proc/<pid>/cgroup`.

use std::sync::LazyLock;

use regex::Regex;

/// A container id in a cgroup path's last segment: 64 hex digits (Docker, containerd,
/// CRI-O), or a UUID-like `8-4-4-4-4` ending (ECS tasks), as Datadog's agent matches it.
static CONTAINER_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"([0-9a-f]{64})|([0-9a-f]{8}(-[0-9a-f]{4}){4}$)").expect("valid regex"));

/// The container id in the text of `/proc/<pid>/cgroup`, or `None` for a process on the
/// host. The memory controller's line is used with cgroup v1, the unnamed line with v2.
pub fn container_id(cgroup: &str) -> Option<String> {
    let mut v1_memory = None;
    let mut v2 = None;
    for line in cgroup.lines() {
        let mut parts = line.splitn(3, ':');
        let (Some(_hierarchy), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if controllers.is_empty() {
            v2 = Some(path);
        } else if controllers.split(',').any(|c| c == "memory") {
            v1_memory = Some(path);
        }
    }
    let path = v1_memory.or(v2)?;
    let base = path.trim_end_matches('/').rsplit('/').next()?;
    if base.ends_with(".mount") || base.starts_with("crio-conmon-") {
        return None;
    }
    CONTAINER_ID.find(base).map(|m| m.as_str().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "3726184226f5d3147c25fdeab5b60097e378e8a720503a5e19ecfdf29f869860";

    #[test]
    fn cgroup_v1_uses_the_memory_line() {
        let text = format!("12:cpuset:/\n11:memory:/docker/{ID}\n10:cpu,cpuacct:/other\n1:name=systemd:/docker/{ID}\n");
        assert_eq!(container_id(&text).as_deref(), Some(ID));
        assert_eq!(
            container_id("11:memory:/user.slice\n0::/user.slice/session-1.scope\n"),
            None
        );
    }

    #[test]
    fn cgroup_v2_uses_the_unnamed_line_and_systemd_scope_names() {
        let text = format!("0::/system.slice/docker-{ID}.scope\n");
        assert_eq!(container_id(&text).as_deref(), Some(ID));
        let kube = format!("0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-{ID}.scope\n");
        assert_eq!(container_id(&kube).as_deref(), Some(ID));
    }

    #[test]
    fn uuid_like_ids_match_only_at_the_end() {
        let text = "0::/ecs/8474ecb2b5d54ed5a6b4d3a1c5a4d6a1/34dc0b5e-626f-2c5c-4c51-70e3\n";
        assert_eq!(container_id(text).as_deref(), Some("34dc0b5e-626f-2c5c-4c51-70e3"));
        assert_eq!(container_id("0::/ecs/34dc0b5e-626f-2c5c-4c51-70e3.scope\n"), None);
    }

    #[test]
    fn mounts_conmon_and_host_processes_have_no_container() {
        assert_eq!(container_id(&format!("0::/system.slice/docker-{ID}.mount\n")), None);
        assert_eq!(
            container_id(&format!("0::/machine.slice/crio-conmon-{ID}.scope\n")),
            None
        );
        assert_eq!(container_id("0::/\n"), None);
        assert_eq!(container_id(""), None);
        assert_eq!(container_id("garbage without colons"), None);
    }
}
