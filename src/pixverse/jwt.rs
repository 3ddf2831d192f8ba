//! Reads a web token's expiry. The token is not verified: PixVerse does that; the bot only
//! wants to know when to ask the user to log in again.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::wire::LenientI64;

/// `ExpireTime` (unix seconds) from the JWT payload, or None if the token is not JWT-shaped.
pub fn expire_time(token: &str) -> Option<i64> {
    let payload = token.split('.').nth(1)?;
    let json = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    #[derive(serde::Deserialize)]
    struct Claims {
        #[serde(rename = "ExpireTime")]
        expire_time: Option<LenientI64>,
    }
    serde_json::from_slice::<Claims>(&json)
        .ok()?
        .expire_time
        .map(|t| t.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_expire_time_from_the_payload() {
        // base64url of {"AccountId":42,"ExpireTime":1767225600}, with its padding left on.
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJBY2NvdW50SWQiOjQyLCJFeHBpcmVUaW1lIjoxNzY3MjI1NjAwfQ==.sig";
        assert_eq!(expire_time(token), Some(1_767_225_600));
    }

    #[test]
    fn a_token_that_is_not_a_jwt_has_no_expiry() {
        assert_eq!(expire_time("opaque"), None);
        assert_eq!(expire_time("a.!!!.c"), None);
        assert_eq!(expire_time("a.e30.c"), None); // {}
    }
}
