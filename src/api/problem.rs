//! Every API error as an RFC 9457 problem: `application/problem+json` with `type`, `title`,
//! `status` and `detail`. Axum's own rejections (bad JSON, a wrong content type, a body over the
//! limit, a malformed path or query) are turned into problems too, so a client never has to parse
//! anything else.

use axum::{
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "/problems/invalid-field",
    "title": "A field has a value that cannot be used",
    "status": 422,
    "detail": "duration: 10 is not available for v5 at 540p; accepted: 5, 8",
    "field": "duration"
}))]
pub struct Problem {
    /// A URI reference naming the kind of problem (`/problems/<kind>`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The kind in words; the same for every problem of this kind.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request, and what would work.
    pub detail: String,
    /// The request field at fault (validation problems only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait before trying again (429, 503); also sent as `Retry-After`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("/problems/{kind}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "The request cannot be read",
            detail,
        )
    }

    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Not authenticated",
            detail,
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::FORBIDDEN, "forbidden", "Not allowed", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::CONFLICT,
            "conflict",
            "Conflicts with the current state",
            detail,
        )
    }

    /// A field whose value cannot be used; `detail` says what is accepted.
    pub fn invalid_field(field: &str, detail: impl Into<String>) -> Problem {
        Problem {
            field: Some(field.to_owned()),
            ..Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-field",
                "A field has a value that cannot be used",
                detail,
            )
        }
    }

    pub fn unprocessable(kind: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, kind, title, detail)
    }

    pub fn too_many_requests(
        kind: &str,
        title: &str,
        detail: impl Into<String>,
        retry_after: u64,
    ) -> Problem {
        Problem {
            retry_after: Some(retry_after.max(1)),
            ..Problem::new(StatusCode::TOO_MANY_REQUESTS, kind, title, detail)
        }
    }

    pub fn payload_too_large(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "The request body is too large",
            detail,
        )
    }

    pub fn unsupported_media(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "The content type is not accepted here",
            detail,
        )
    }

    pub fn bad_gateway(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::BAD_GATEWAY,
            "pixverse-unavailable",
            "PixVerse did not answer",
            detail,
        )
    }

    /// A failure of ours. The cause goes to the log, never to the client (it may name paths or
    /// hold data of other users).
    pub fn internal(error: &dyn std::fmt::Display) -> Problem {
        tracing::error!(error = %error, "an API request failed");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            "Something went wrong on our side; it was logged. Try again later.",
        )
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = self.retry_after;
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<anyhow::Error> for Problem {
    fn from(error: anyhow::Error) -> Problem {
        Problem::internal(&format!("{error:#}"))
    }
}

impl From<crate::storage::StorageError> for Problem {
    fn from(error: crate::storage::StorageError) -> Problem {
        Problem::internal(&error)
    }
}

/// One problem for each status axum's body rejections carry (400 syntax, 413 size, 415 content
/// type, 422 shape), with axum's explanation as the detail.
fn from_rejection(status: StatusCode, text: String) -> Problem {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Problem::payload_too_large(text),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Problem::unsupported_media(text),
        StatusCode::UNPROCESSABLE_ENTITY => {
            Problem::unprocessable("invalid-body", "The body does not have the expected fields", text)
        }
        _ => Problem::bad_request(text),
    }
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Problem {
        from_rejection(rejection.status(), rejection.body_text())
    }
}

impl From<PathRejection> for Problem {
    fn from(rejection: PathRejection) -> Problem {
        // A path that does not parse (`/v1/videos/abc`) names no video.
        Problem::not_found(rejection.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Problem {
        Problem::bad_request(rejection.body_text())
    }
}

/// `axum::Json` whose rejection is a [`Problem`].
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(Problem))]
pub struct Json<T>(pub T);

/// `axum::extract::Path` whose rejection is a [`Problem`].
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Problem))]
pub struct Path<T>(pub T);

/// `axum::extract::Query` whose rejection is a [`Problem`].
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Problem))]
pub struct Query<T>(pub T);

/// Unknown paths.
pub async fn not_found() -> Problem {
    Problem::not_found("No such endpoint; the API is described at /openapi.json and /docs.")
}

/// A known path with a method it does not have.
pub async fn method_not_allowed() -> Problem {
    Problem::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        "This endpoint does not take this method; see /openapi.json.",
    )
}
