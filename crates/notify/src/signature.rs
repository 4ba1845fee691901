//! Signatures of the callbacks Sportello POSTs to enti: an HMAC-SHA256 over the timestamp and the
//! body, sent in [`SIGNATURE_HEADER`] as `t=<unix seconds>,v1=<lowercase hex>`. Receivers check it
//! with [`verify`], which also refuses timestamps outside a replay window.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature of a callback.
pub const SIGNATURE_HEADER: &str = "X-Sportello-Signature";

/// The default replay window: a signature older (or newer) than this many seconds is refused.
pub const REPLAY_WINDOW_SECS: i64 = 300;

type HmacSha256 = Hmac<Sha256>;

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("malformed signature header: {0}")]
    Malformed(&'static str),
    #[error("signature timestamp outside the accepted window")]
    Expired,
    #[error("signature does not match")]
    Mismatch,
}

/// The MAC over `"<t>.<body>"`, fed to `mac` without copying the body.
fn mac_for(secret: &[u8], t: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(secret)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The full header value signing `body` at Unix time `t` with `secret`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    let tag = mac_for(secret, t, body).finalize().into_bytes();
    format!("t={t},v1={}", hex::encode(tag))
}

/// Checks a header value produced by [`sign`]: exact `t=<digits>,v1=<64 lowercase hex>` syntax,
/// a timestamp within `tolerance_secs` of `now_unix`, and the MAC (compared in constant time).
pub fn verify(
    secret: &[u8],
    header_value: &str,
    body: &[u8],
    now_unix: i64,
    tolerance_secs: i64,
) -> Result<(), SignatureError> {
    let (t_part, v1_part) = header_value
        .split_once(',')
        .ok_or(SignatureError::Malformed("expected t=…,v1=…"))?;
    let t_digits = t_part
        .strip_prefix("t=")
        .ok_or(SignatureError::Malformed("missing t="))?;
    let v1_hex = v1_part
        .strip_prefix("v1=")
        .ok_or(SignatureError::Malformed("missing v1="))?;
    if t_digits.is_empty() || t_digits.len() > 12 || !t_digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SignatureError::Malformed("t is not a Unix time in seconds"));
    }
    if v1_hex.len() != 64
        || !v1_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(SignatureError::Malformed(
            "v1 is not 64 lowercase hex digits",
        ));
    }
    let t: i64 = t_digits
        .parse()
        .map_err(|_| SignatureError::Malformed("t is not a Unix time in seconds"))?;
    let tag = hex::decode(v1_hex).map_err(|_| SignatureError::Malformed("v1 is not hex"))?;
    if (now_unix - t).abs() > tolerance_secs {
        return Err(SignatureError::Expired);
    }
    mac_for(secret, t, body)
        .verify_slice(&tag)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"whsec_test";
    const BODY: &[u8] = br#"{"event":"message.processed"}"#;
    const T: i64 = 1_700_000_000;

    #[test]
    fn the_signature_matches_an_independently_computed_hmac() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"whsec_test",
        //   b"1700000000.{\"event\":\"message.processed\"}",hashlib.sha256).hexdigest())'
        let expected = "t=1700000000,\
             v1=0864473175ff2c47d82d8a73381b58e4df07a59abb0ef20464a7bd50e98e92e0";
        assert_eq!(sign(SECRET, T, BODY), expected);
    }

    #[test]
    fn a_signature_verifies_within_the_replay_window() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(verify(SECRET, &header, BODY, T, REPLAY_WINDOW_SECS), Ok(()));
        assert_eq!(
            verify(SECRET, &header, BODY, T + 300, REPLAY_WINDOW_SECS),
            Ok(())
        );
        assert_eq!(
            verify(SECRET, &header, BODY, T - 300, REPLAY_WINDOW_SECS),
            Ok(())
        );
    }

    #[test]
    fn a_signature_outside_the_replay_window_is_refused() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(
            verify(SECRET, &header, BODY, T + 301, REPLAY_WINDOW_SECS),
            Err(SignatureError::Expired)
        );
        assert_eq!(
            verify(SECRET, &header, BODY, T - 301, REPLAY_WINDOW_SECS),
            Err(SignatureError::Expired)
        );
    }

    #[test]
    fn a_changed_body_or_secret_or_timestamp_does_not_verify() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(
            verify(SECRET, &header, b"{}", T, REPLAY_WINDOW_SECS),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", &header, BODY, T, REPLAY_WINDOW_SECS),
            Err(SignatureError::Mismatch)
        );
        let moved = header.replace("t=1700000000", "t=1700000001");
        assert_eq!(
            verify(SECRET, &moved, BODY, T, REPLAY_WINDOW_SECS),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn malformed_headers_are_refused_before_any_mac_is_computed() {
        let good = sign(SECRET, T, BODY);
        let v1 = good.split_once(",v1=").map(|(_, v)| v).unwrap_or_default();
        for bad in [
            String::new(),
            "t=1700000000".to_owned(),
            format!("v1={v1},t=1700000000"),
            format!("t=,v1={v1}"),
            format!("t=-5,v1={v1}"),
            format!("t=17e8,v1={v1}"),
            format!("t=1700000000, v1={v1}"),
            format!("t=1700000000,v1={}", v1.to_uppercase()),
            format!("t=1700000000,v1={}", &v1[..62]),
            format!("t=1700000000,v1={v1}00"),
            format!("t=1700000000,v1={v1},v2=00"),
        ] {
            assert!(
                matches!(
                    verify(SECRET, &bad, BODY, T, REPLAY_WINDOW_SECS),
                    Err(SignatureError::Malformed(_))
                ),
                "{bad:?} was not refused as malformed"
            );
        }
    }
}
