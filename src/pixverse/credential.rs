//! Which PixVerse surface a call goes to, and with what secret.

use std::fmt;

use secrecy::SecretString;

/// A PixVerse credential. Its `Debug` names the surface only: the secret never reaches a log.
#[derive(Clone)]
pub enum Credential {
    /// A Platform API key, sent as `API-KEY` to `/openapi/v2`.
    ApiKey(SecretString),
    /// A web-app JWT from `/creative_platform/login`, sent as `Token`.
    WebToken(SecretString),
}

impl Credential {
    /// A short, secret-free name for logs and spans.
    pub fn surface(&self) -> &'static str {
        match self {
            Self::ApiKey(_) => "api_key",
            Self::WebToken(_) => "web",
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiKey(_) => f.write_str("Credential::ApiKey([REDACTED])"),
            Self::WebToken(_) => f.write_str("Credential::WebToken([REDACTED])"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_no_secret() {
        let key = Credential::ApiKey("sk-very-secret".into());
        let token = Credential::WebToken("eyJ.secret.sig".into());
        assert_eq!(format!("{key:?}"), "Credential::ApiKey([REDACTED])");
        assert!(!format!("{token:?}").contains("secret"));
    }
}
