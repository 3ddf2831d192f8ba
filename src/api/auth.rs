//! `POST /v1/auth` (a PixVerse web login or Platform key in, this service's bearer token out) and
//! the [`Caller`] extractor that every `/v1` route behind a token uses.

use axum::{
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts},
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{ApiState, problem::Problem};
use crate::{
    domain::UserId,
    pixverse::{self, ErrorKind},
    storage::{CredentialKind, TokenSource, api_key_identity, api_key_label, web_identity},
};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(auth))
}

/// A PixVerse web login (the seed's OAuth2 password form, as JSON or as a form).
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"username": "alice@example.com", "password": "correct horse"}))]
pub struct WebLogin {
    /// The PixVerse web account's username or e-mail.
    username: String,
    /// Its password; used once for the login and never stored.
    password: String,
}

/// A PixVerse Platform API key (platform.pixverse.ai), checked with a balance call.
#[derive(Deserialize, ToSchema)]
#[schema(example = json!({"api_key": "sk-0123456789abcdef"}))]
pub struct ApiKeyLogin {
    api_key: String,
}

/// Either way of proving a PixVerse account.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum AuthRequest {
    Web(WebLogin),
    ApiKey(ApiKeyLogin),
}

/// A bearer token of this service (never PixVerse's own token).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"access_token": "pvb_3q2-7wR9xK1mZpLQ0vYt8sUe4nA6cBdFgHiJkLmNoPq", "token_type": "bearer"}))]
pub struct TokenResponse {
    /// Send it as `Authorization: Bearer <access_token>`. 256 random bits; only its hash is kept.
    access_token: String,
    /// Always `bearer`.
    token_type: String,
}

/// The body of `POST /v1/auth` in either content type.
pub struct AuthBody(AuthRequest);

impl<S: Send + Sync> FromRequest<S> for AuthBody {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if content_type.starts_with("application/x-www-form-urlencoded") {
            let axum::Form(login) = axum::Form::<WebLogin>::from_request(req, state)
                .await
                .map_err(|e| match e.status().as_u16() {
                    413 => Problem::payload_too_large(e.body_text()),
                    _ => Problem::unprocessable(
                        "invalid-body",
                        "The body does not have the expected fields",
                        format!("{}; expected username=…&password=…", e.body_text()),
                    ),
                })?;
            return Ok(AuthBody(AuthRequest::Web(login)));
        }
        let super::problem::Json(body) = super::problem::Json::<AuthRequest>::from_request(req, state)
            .await
            .map_err(|mut problem| {
                if problem.status == 422 {
                    problem.detail = "expected {\"username\", \"password\"} or {\"api_key\"}".into();
                }
                problem
            })?;
        Ok(AuthBody(body))
    }
}

/// Log in with a PixVerse account and get a bearer token for this API.
///
/// A web login (`username`, `password`; JSON or `application/x-www-form-urlencoded`) or a
/// Platform key (`api_key`) is checked with PixVerse. The PixVerse credential is stored sealed
/// (as with the bot's `/login`), and the same PixVerse account always reaches the same API
/// account, with its history, limits and quota. Each call issues a new token; earlier ones stay
/// valid. Telegram users get a token for their chat account with `/token` instead.
#[utoipa::path(
    post,
    path = "/v1/auth",
    tag = "auth",
    request_body(
        description = "A PixVerse web login or a Platform API key",
        content(
            (AuthRequest = "application/json"),
            (WebLogin = "application/x-www-form-urlencoded"),
        )
    ),
    responses(
        (status = 200, description = "The credential works; here is a token", body = TokenResponse),
        (status = 400, description = "The body is not valid JSON or form data", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "PixVerse refused the password or key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is too large", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither JSON nor a form", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body lacks the fields of either way to log in", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "PixVerse did not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
async fn auth(
    axum::extract::State(state): axum::extract::State<ApiState>,
    AuthBody(request): AuthBody,
) -> Result<axum::Json<TokenResponse>, Problem> {
    let storage = &state.storage;
    let user_id = match request {
        AuthRequest::Web(WebLogin { username, password }) => {
            if username.trim().is_empty() || password.is_empty() {
                return Err(Problem::invalid_field(
                    "username",
                    "username and password must not be empty",
                ));
            }
            let password = SecretString::from(password);
            let login = state
                .pixverse
                .login(username.trim(), &password)
                .await
                .map_err(|e| refused(&e, "PixVerse refused this username and password."))?;
            let user_id = storage
                .api_account(&web_identity(&login.username), &login.username)
                .await?;
            storage
                .save_credential(
                    user_id,
                    CredentialKind::Web,
                    &login.username,
                    &login.token,
                    login.expires_at.map(|s| s * 1000),
                )
                .await?;
            user_id
        }
        AuthRequest::ApiKey(ApiKeyLogin { api_key }) => {
            let key = api_key.trim();
            if key.is_empty() || key.contains(char::is_whitespace) {
                return Err(Problem::invalid_field(
                    "api_key",
                    "api_key must be one word (the key from platform.pixverse.ai)",
                ));
            }
            let key = SecretString::from(key.to_owned());
            // A balance call is the cheapest way to learn whether PixVerse accepts the key.
            state
                .pixverse
                .balance(&pixverse::Credential::ApiKey(key.clone()))
                .await
                .map_err(|e| refused(&e, "PixVerse refused this API key."))?;
            let label = api_key_label(&key);
            use secrecy::ExposeSecret;
            let user_id = storage
                .api_account(&api_key_identity(key.expose_secret()), &label)
                .await?;
            storage
                .save_credential(user_id, CredentialKind::ApiKey, &label, &key, None)
                .await?;
            user_id
        }
    };
    // Tasks that waited for this account to log in again go on now.
    if storage.wake_tasks_waiting_for_login(UserId(user_id)).await? > 0 {
        state.wake_worker.notify_one();
    }
    let token = storage.issue_api_token(user_id, TokenSource::Auth).await?;
    tracing::info!(user_id, "API token issued");
    Ok(axum::Json(TokenResponse {
        access_token: token.0,
        token_type: "bearer".into(),
    }))
}

/// 401 when PixVerse refused the credential; 502 when it did not answer.
fn refused(error: &pixverse::PixverseError, detail: &str) -> Problem {
    match error.kind() {
        ErrorKind::CredentialInvalid | ErrorKind::BadRequest => Problem::unauthorized(detail),
        _ => {
            tracing::warn!(error = %error, "PixVerse did not answer a credential check");
            Problem::bad_gateway("PixVerse did not answer the credential check; try again shortly.")
        }
    }
}

/// The account behind a request's bearer token, after the token's rate limit.
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub user_id: i64,
}

impl FromRequestParts<ApiState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, Problem> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Problem::unauthorized("Send `Authorization: Bearer <token>`; get a token from POST /v1/auth.")
            })?;
        let (token_id, user_id) = state.storage.api_token_owner(token).await?.ok_or_else(|| {
            Problem::unauthorized("This token is unknown or was revoked; get a new one from POST /v1/auth.")
        })?;
        if let Err(wait) = state.limiter.check(token_id) {
            return Err(Problem::too_many_requests(
                "rate-limited",
                "Too many requests",
                format!(
                    "This token may make {} requests per minute; try again in {} s.",
                    state.limiter.per_minute(),
                    wait.as_secs() + 1
                ),
                wait.as_secs() + 1,
            ));
        }
        Ok(Caller { user_id })
    }
}
