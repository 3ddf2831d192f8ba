//! The OSS bucket `pixverse-fe-upload`: a V1-signed PUT with the temporary credentials from
//! `getUploadToken`. The signature is recomputed here from the request as received, the way
//! OSS does, independently of the client's signing code.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;

use super::{Answer, Incoming, State};

/// OSS refuses requests whose Date is further than this from its clock.
const MAX_SKEW_SECS: u64 = 15 * 60;

pub fn put(s: &mut State, request: &Incoming<'_>, key: &str) -> Answer {
    if request.method.as_str() != "PUT" || !key.starts_with("upload/") {
        return oss_error(
            405,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        );
    }
    match check(s, request, key) {
        Ok(()) => {
            s.objects.insert(key.to_owned(), request.body.len());
            s.uploaded.push((key.to_owned(), request.body.len()));
            let mut answer = Answer::raw(200, "application/xml", "");
            answer
                .headers
                .push(("etag", format!("\"{}\"", hex_md5(request.body))));
            answer
        }
        Err((status, code, message)) => {
            s.violation(request, &format!("OSS {code}: {message}"));
            oss_error(status, code, message)
        }
    }
}

type Refusal = (u16, &'static str, &'static str);

fn check(s: &State, request: &Incoming<'_>, key: &str) -> Result<(), Refusal> {
    let authorization =
        request
            .header("authorization")
            .ok_or((403, "AccessDenied", "Authorization header is missing."))?;
    let (ak, signature) = authorization
        .strip_prefix("OSS ")
        .and_then(|rest| rest.split_once(':'))
        .ok_or((400, "InvalidArgument", "Authorization header is invalid."))?;
    let grant = s.oss_grants.get(ak).ok_or((
        403,
        "InvalidAccessKeyId",
        "The OSS Access Key Id you provided does not exist in our records.",
    ))?;
    match request.header("x-oss-security-token") {
        None => return Err((403, "InvalidAccessKeyId", "The security token is missing.")),
        Some(token) if token != grant.token => {
            return Err((
                403,
                "InvalidSecurityToken",
                "The security token you provided is invalid.",
            ));
        }
        Some(_) => {}
    }
    let date = request
        .header("x-oss-date")
        .or_else(|| request.header("date"))
        .ok_or((403, "AccessDenied", "Date header is missing."))?;
    let sent =
        httpdate::parse_http_date(date).map_err(|_| (403, "AccessDenied", "Date header is invalid."))?;
    let skew = match sent.duration_since(std::time::SystemTime::now()) {
        Ok(ahead) => ahead,
        Err(behind) => behind.duration(),
    };
    if skew.as_secs() > MAX_SKEW_SECS {
        return Err((
            403,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        ));
    }
    let content_md5 = request.header("content-md5").unwrap_or_default();
    if !content_md5.is_empty() && content_md5 != STANDARD.encode(Md5::digest(request.body)) {
        return Err((
            400,
            "InvalidDigest",
            "The Content-MD5 you specified is not valid.",
        ));
    }
    let mut oss_headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-oss-"))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().trim().to_owned(),
            )
        })
        .collect();
    oss_headers.sort();
    let canonical_headers: String = oss_headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let string_to_sign = format!(
        "PUT\n{content_md5}\n{}\n{date}\n{canonical_headers}/pixverse-fe-upload/{key}",
        request.header("content-type").unwrap_or_default()
    );
    let mut mac = Hmac::<Sha1>::new_from_slice(grant.secret.as_bytes()).expect("any key length");
    mac.update(string_to_sign.as_bytes());
    if STANDARD.encode(mac.finalize().into_bytes()) != signature {
        return Err((
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ));
    }
    Ok(())
}

fn hex_md5(body: &[u8]) -> String {
    Md5::digest(body).iter().map(|b| format!("{b:02X}")).collect()
}

/// OSS's XML error document.
fn oss_error(status: u16, code: &str, message: &str) -> Answer {
    Answer::raw(
        status,
        "application/xml",
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>{code}</Code>\n  <Message>{message}</Message>\n  \
             <RequestId>5C3D9175B6FC201293AD4890</RequestId>\n  <HostId>pixverse-fe-upload.oss-accelerate.aliyuncs.com</HostId>\n</Error>\n"
        ),
    )
}
