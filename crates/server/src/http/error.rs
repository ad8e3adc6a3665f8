//! Error responses in Datadog's shape: `{"errors": ["..."]}` with a matching status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error answer to an API request.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the client to act on.
    pub message: String,
    /// More fields for the body beside `errors` (e.g. where a query failed to parse).
    pub detail: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ApiError {
    /// A 400 with this message.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            detail: None,
        }
    }

    /// An error with this status and message.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            detail: None,
        }
    }

    /// A 404 with this message.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// A 409 with this message: the request conflicts with what is stored (e.g. a name taken).
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, message)
    }

    /// A 400 for a search query that does not parse: the body also carries
    /// `"query_error": {"parameter", "message", "position", "length"}` (positions in characters) so a UI can
    /// underline the problem.
    pub fn bad_query(parameter: &str, error: &dogwatch_search::ParseError) -> ApiError {
        let mut detail = serde_json::Map::new();
        detail.insert(
            "query_error".into(),
            serde_json::json!({
                "parameter": parameter,
                "message": error.message,
                "position": error.position,
                "length": error.len,
            }),
        );
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: format!("invalid `{parameter}`: {}", error.message),
            detail: Some(detail),
        }
    }

    /// A 403, worded as Datadog's.
    pub fn forbidden() -> ApiError {
        ApiError {
            status: StatusCode::FORBIDDEN,
            message: "Forbidden".into(),
            detail: None,
        }
    }

    /// A 500 for a failure on the server's side.
    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            detail: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = self.detail.unwrap_or_default();
        body.insert("errors".into(), serde_json::json!([self.message]));
        (self.status, Json(serde_json::Value::Object(body))).into_response()
    }
}
