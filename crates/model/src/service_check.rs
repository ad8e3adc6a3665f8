//! Service check runs (`POST /api/v1/check_run`).

use serde::{Deserialize, Serialize};

/// The status of a service check, as Datadog numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum CheckStatus {
    /// 0: the service is healthy.
    Ok,
    /// 1: the service works but something needs attention.
    Warning,
    /// 2: the service is failing.
    Critical,
    /// 3: the check could not tell.
    Unknown,
}

impl CheckStatus {
    /// The upper-case name Datadog shows for this status (`OK`, `WARNING`, ...).
    pub fn name(self) -> &'static str {
        match self {
            CheckStatus::Ok => "OK",
            CheckStatus::Warning => "WARNING",
            CheckStatus::Critical => "CRITICAL",
            CheckStatus::Unknown => "UNKNOWN",
        }
    }
}

impl TryFrom<u8> for CheckStatus {
    type Error = String;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(CheckStatus::Ok),
            1 => Ok(CheckStatus::Warning),
            2 => Ok(CheckStatus::Critical),
            3 => Ok(CheckStatus::Unknown),
            other => Err(format!(
                "service check status must be 0 (OK), 1 (WARNING), 2 (CRITICAL) or 3 (UNKNOWN), got {other}"
            )),
        }
    }
}

impl From<CheckStatus> for u8 {
    fn from(status: CheckStatus) -> u8 {
        match status {
            CheckStatus::Ok => 0,
            CheckStatus::Warning => 1,
            CheckStatus::Critical => 2,
            CheckStatus::Unknown => 3,
        }
    }
}

/// One run of a service check, in the JSON shape of Datadog's `/api/v1/check_run`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRun {
    /// The check's name, e.g. `datadog.agent.up`.
    pub check: String,
    /// The host the check ran for.
    pub host_name: String,
    /// Unix seconds of the run; the server uses its receive time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// The outcome.
    pub status: CheckStatus,
    /// Free text shown with the status.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// `key:value` tags; `null` reads as none, as Datadog's serializer sends it.
    #[serde(default, deserialize_with = "crate::null_as_empty")]
    pub tags: Vec<String>,
}
