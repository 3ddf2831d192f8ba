//! Aliyun OSS header signing, version 1, for the web app's image uploads. Pure functions.
//!
//! `Authorization: OSS <Ak>:<base64(hmac-sha1(Sk, StringToSign))>` where StringToSign is
//! `VERB\nContent-MD5\nContent-Type\nDate\n` + CanonicalizedOSSHeaders + CanonicalizedResource
//! (Aliyun's "Include a V1 signature in the header").

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;

/// The bucket PixVerse's web app uploads to; part of the signed resource whatever the endpoint.
pub const BUCKET: &str = "pixverse-fe-upload";

/// What a V1 signature covers.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub content_md5: &'a str,
    pub content_type: &'a str,
    /// RFC 1123 GMT, as in the `Date` header.
    pub date: &'a str,
    /// Every `x-oss-*` header sent, in any case and order.
    pub oss_headers: &'a [(&'a str, &'a str)],
    /// `/<bucket>/<object key>`.
    pub resource: &'a str,
}

/// The exact text that is signed.
pub fn string_to_sign(req: &SignedRequest<'_>) -> String {
    let mut headers: Vec<(String, &str)> = req
        .oss_headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim()))
        .filter(|(name, _)| name.starts_with("x-oss-"))
        .collect();
    headers.sort();
    let mut out = format!(
        "{}\n{}\n{}\n{}\n",
        req.method, req.content_md5, req.content_type, req.date
    );
    for (name, value) in headers {
        out.push_str(&name);
        out.push(':');
        out.push_str(value);
        out.push('\n');
    }
    out.push_str(req.resource);
    out
}

/// The `Authorization` header value.
pub fn authorization(access_key_id: &str, access_key_secret: &str, req: &SignedRequest<'_>) -> String {
    let mut mac =
        Hmac::<Sha1>::new_from_slice(access_key_secret.as_bytes()).expect("HMAC accepts a key of any length");
    mac.update(string_to_sign(req).as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());
    format!("OSS {access_key_id}:{signature}")
}

/// `Content-MD5`: base64 of the body's MD5 digest.
pub fn content_md5(body: &[u8]) -> String {
    STANDARD.encode(Md5::digest(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vector computed independently from the formula (Python's hmac/hashlib/base64):
    // sts = "PUT\n" + md5 + "\nimage/jpeg\nSun, 23 Nov 2025 11:56:00 GMT\nx-oss-meta-a:1\n"
    //       "x-oss-security-token:sts-token-123\n/pixverse-fe-upload/upload/0b3c.jpg"
    #[test]
    fn signature_matches_a_hand_computed_vector() {
        let md5 = content_md5(b"hello");
        assert_eq!(md5, "XUFAKrxLKna5cZ2REBfFkg==");
        let req = SignedRequest {
            method: "PUT",
            content_md5: &md5,
            content_type: "image/jpeg",
            date: "Sun, 23 Nov 2025 11:56:00 GMT",
            // Mixed case and unsorted on purpose: canonicalisation lower-cases and sorts.
            oss_headers: &[("X-OSS-Security-Token", "sts-token-123"), ("x-oss-meta-a", " 1")],
            resource: "/pixverse-fe-upload/upload/0b3c.jpg",
        };
        assert_eq!(
            string_to_sign(&req),
            "PUT\nXUFAKrxLKna5cZ2REBfFkg==\nimage/jpeg\nSun, 23 Nov 2025 11:56:00 GMT\n\
             x-oss-meta-a:1\nx-oss-security-token:sts-token-123\n/pixverse-fe-upload/upload/0b3c.jpg"
        );
        assert_eq!(
            authorization("STS.ak", "test-secret-sk", &req),
            "OSS STS.ak:MP6hMePEd9LMLitmvyjV/hPq0sA="
        );
    }
}
