//! gRPC message framing (the 5-byte length prefix of gRPC over HTTP/2) and `CheckResponse`
//! decoding, for proxies that speak HTTP/2 themselves instead of using a gRPC library.
//!
//! # Examples
//! ```
//! use gateway_core::plan::authz::{AuthResponse, grpc, proto};
//! use prost::Message as _;
//!
//! let ok = proto::CheckResponse {
//!     status: Some(proto::Status { code: 0, message: String::new() }),
//!     http_response: None,
//! };
//! let framed = grpc::frame(&ok.encode_to_vec()).unwrap();
//! assert_eq!(grpc::decode_response(&framed), AuthResponse::Grpc(ok));
//! assert!(matches!(grpc::decode_response(b"\x00\x00\x00\x00\x09oops"), AuthResponse::Malformed(_)));
//! ```

use prost::Message as _;

use super::{AuthResponse, proto};

/// The largest `CheckResponse` accepted by [`decode_response`] (4 MiB, gRPC's usual default).
pub const MAX_RESPONSE_LEN: usize = 4 << 20;

/// Prefixes a protobuf message with gRPC's frame header: a 0 byte (not compressed) and the
/// length as a big-endian `u32`. `None` when the message is 4 GiB or more.
pub fn frame(message: &[u8]) -> Option<Vec<u8>> {
    let len = u32::try_from(message.len()).ok()?;
    let mut out = Vec::with_capacity(5 + message.len());
    out.push(0);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    Some(out)
}

/// The message inside exactly one uncompressed gRPC frame.
///
/// # Errors
/// A description when the bytes are not exactly one uncompressed frame.
pub fn unframe(bytes: &[u8]) -> Result<&[u8], String> {
    let (header, message) = bytes
        .split_first_chunk::<5>()
        .ok_or_else(|| format!("{} bytes are too short for a gRPC frame", bytes.len()))?;
    let [flag, len @ ..] = *header;
    if flag != 0 {
        return Err(format!("compressed or unknown frame flag {flag}"));
    }
    let len = usize::try_from(u32::from_be_bytes(len)).map_err(|_| "frame too long".to_owned())?;
    if len != message.len() {
        return Err(format!(
            "the frame announces {len} bytes and carries {}",
            message.len()
        ));
    }
    Ok(message)
}

/// Decodes a framed `CheckResponse` (the body of the `Check` call's HTTP/2 response, whose
/// `grpc-status` trailer the caller has checked to be 0). Anything that is not exactly one
/// valid message is [`AuthResponse::Malformed`], which fails closed.
pub fn decode_response(framed: &[u8]) -> AuthResponse {
    match unframe(framed) {
        Ok(message) => decode_message(message),
        Err(why) => AuthResponse::Malformed(why),
    }
}

/// Decodes an unframed `CheckResponse` (what a gRPC library hands over).
pub fn decode_message(message: &[u8]) -> AuthResponse {
    if message.len() > MAX_RESPONSE_LEN {
        return AuthResponse::Malformed(format!(
            "CheckResponse of {} bytes is larger than {MAX_RESPONSE_LEN}",
            message.len()
        ));
    }
    match proto::CheckResponse::decode(message) {
        Ok(response) => AuthResponse::Grpc(response),
        Err(e) => AuthResponse::Malformed(format!("invalid CheckResponse: {e}")),
    }
}
