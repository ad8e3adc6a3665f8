//! Host metadata (`POST /intake/`): who an agent is and how it is configured.

use serde::{Deserialize, Serialize};

/// Host metadata as a Datadog agent posts it to `/intake/`, reduced to the fields dogwatch
/// reads. Unknown fields sent by a stock Datadog agent are ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostMetadata {
    /// The agent's canonical hostname.
    #[serde(rename = "internalHostname")]
    pub internal_hostname: String,
    /// The agent's version.
    #[serde(rename = "agentVersion", default)]
    pub agent_version: String,
    /// The operating system, e.g. `linux`.
    #[serde(default)]
    pub os: String,
    /// Host tags by origin; dogwatch agents put configured tags under `system`. `null` reads
    /// as none.
    #[serde(rename = "host-tags", default, deserialize_with = "null_as_default")]
    pub host_tags: HostTags,
    /// Details about the host and how its name was found; `null` reads as none.
    #[serde(default, deserialize_with = "null_as_default")]
    pub meta: HostMeta,
    /// The agent's check instances and their last status, as Datadog's `agent_checks`
    /// metadata lists them; absent when the payload does not carry them.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "agent_check_rows")]
    pub agent_checks: Option<Vec<AgentCheck>>,
}

fn null_as_default<'de, D: serde::Deserializer<'de>, T: Deserialize<'de> + Default>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One check instance's status. In host metadata it crosses the wire as Datadog's
/// agent_checks row `[check name, check name, instance id, status, error, {}]`; elsewhere
/// (the UI's host list) as an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentCheck {
    /// The check's name, e.g. `cpu`.
    pub check: String,
    /// The instance ID, e.g. `cpu:4e94107e7cc191f5`.
    pub instance_id: String,
    /// `OK`, `WARNING` or `ERROR`.
    pub status: String,
    /// The last error, or empty.
    pub error: String,
}

/// `agent_checks` as Datadog's rows. Reading takes the rows Datadog Agent 7 writes:
/// `[name, name, instance id, status, error, ""]`, with a `WARNING` row's warnings as an array
/// (joined with `; `), and the five-item rows of checks that failed to load
/// (`[name, name, "initialization", "ERROR", error]`).
mod agent_check_rows {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use serde_json::Value;

    use super::{AgentCheck, AgentCheckRow};

    pub fn serialize<S: Serializer>(checks: &Option<Vec<AgentCheck>>, s: S) -> Result<S::Ok, S::Error> {
        let rows: Option<Vec<AgentCheckRow>> = checks.as_ref().map(|c| c.iter().cloned().map(Into::into).collect());
        rows.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<AgentCheck>>, D::Error> {
        let rows: Option<Vec<Vec<Value>>> = Option::deserialize(d)?;
        let Some(rows) = rows else { return Ok(None) };
        rows.into_iter()
            .enumerate()
            .map(|(i, row)| row_of(&row).map_err(|e| D::Error::custom(format!("agent_checks[{i}]: {e}"))))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn text(row: &[Value], at: usize, what: &str) -> Result<String, String> {
        match row.get(at) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!("item {at} ({what}) must be a string, not {other}")),
            None => Err(format!(
                "has {} items; a check row has at least 4 (name, name, instance id, status)",
                row.len()
            )),
        }
    }

    fn row_of(row: &[Value]) -> Result<AgentCheck, String> {
        let error = match row.get(4) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))
                .collect::<Vec<_>>()
                .join("; "),
            Some(other) => other.to_string(),
        };
        Ok(AgentCheck {
            check: text(row, 0, "check name")?,
            instance_id: text(row, 2, "instance id")?,
            status: text(row, 3, "status")?,
            error,
        })
    }
}

/// The wire form of [`AgentCheck`].
#[derive(Serialize, Deserialize)]
struct AgentCheckRow(String, String, String, String, String, serde_json::Value);

impl From<AgentCheck> for AgentCheckRow {
    fn from(c: AgentCheck) -> Self {
        AgentCheckRow(
            c.check.clone(),
            c.check,
            c.instance_id,
            c.status,
            c.error,
            serde_json::Value::Object(Default::default()),
        )
    }
}

/// Host tags grouped by where they came from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostTags {
    /// Tags from the agent's configuration (`tags`, `DD_TAGS`, Heroku dyno tags); `null`
    /// (what Go writes for none) reads as none.
    #[serde(default, deserialize_with = "crate::null_as_empty")]
    pub system: Vec<String>,
}

/// The `meta` block of host metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostMeta {
    /// The hostname the OS reports.
    #[serde(rename = "socket-hostname", default)]
    pub socket_hostname: String,
    /// The hostname chosen by the agent.
    #[serde(default)]
    pub hostname: String,
    /// What decided the hostname: `configuration`, `hostname_file`, `heroku` or `os`.
    #[serde(rename = "hostname-provider", default, skip_serializing_if = "String::is_empty")]
    pub hostname_provider: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_checks_cross_the_wire_as_datadogs_rows() {
        let meta: HostMetadata = serde_json::from_value(serde_json::json!({
            "internalHostname": "h",
            "agent_checks": [["cpu", "cpu", "cpu:abc", "OK", "", {}]]
        }))
        .unwrap();
        let checks = meta.agent_checks.clone().unwrap();
        assert_eq!(
            (checks[0].check.as_str(), checks[0].instance_id.as_str()),
            ("cpu", "cpu:abc")
        );
        let back = serde_json::to_value(&meta).unwrap();
        assert_eq!(
            back["agent_checks"][0],
            serde_json::json!(["cpu", "cpu", "cpu:abc", "OK", "", {}])
        );
    }
}
