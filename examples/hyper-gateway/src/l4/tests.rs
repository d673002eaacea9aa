#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use super::*;

/// The first bytes a rustls client sends: its ClientHello, asking for `sni`.
fn client_hello_bytes(sni: &str) -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from(sni.to_owned()).unwrap();
    let mut client = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut bytes = Vec::new();
    client.write_tls(&mut bytes).unwrap();
    bytes
}

/// Reads with [`client_hello`] what `chunks` deliver, one write each, then the end of the
/// stream.
async fn read_hello(chunks: Vec<Vec<u8>>) -> Result<(Vec<u8>, Option<String>), String> {
    let (mut writer, mut reader) = tokio::io::duplex(1 << 16);
    tokio::spawn(async move {
        for chunk in chunks {
            if writer.write_all(&chunk).await.is_err() {
                return;
            }
            tokio::task::yield_now().await;
        }
    });
    client_hello(&mut reader).await
}

#[tokio::test]
async fn a_client_hello_in_small_pieces_is_read_whole_and_kept_byte_for_byte() {
    let hello = client_hello_bytes("DB.example.com");
    let chunks: Vec<Vec<u8>> = hello.chunks(7).map(<[u8]>::to_vec).collect();
    let (read, sni) = read_hello(chunks).await.unwrap();
    assert_eq!(read, hello);
    // rustls lower-cases the name it parses; route_l4 canonicalizes it anyway.
    assert_eq!(sni.as_deref(), Some("db.example.com"));
}

#[tokio::test]
async fn what_is_not_a_client_hello_is_refused() {
    let http = b"GET / HTTP/1.1\r\nhost: db.example.com\r\n\r\n".to_vec();
    let refused = read_hello(vec![http]).await.unwrap_err();
    assert!(refused.starts_with("not a TLS ClientHello"), "{refused}");
    // A ClientHello cut short, then the end of the stream.
    let hello = client_hello_bytes("db.example.com");
    let cut = hello[..hello.len() / 2].to_vec();
    let refused = read_hello(vec![cut]).await.unwrap_err();
    assert!(refused.contains("closed before"), "{refused}");
}

#[tokio::test]
async fn a_client_hello_over_one_full_record_is_refused() {
    // A handshake message announcing 65,535 bytes, in full-size records: valid framing, so
    // only the bound stops it.
    let mut body = vec![1, 0x00, 0xff, 0xff];
    body.resize(1 << 14, 0);
    let record = |payload: &[u8]| {
        let len = u16::try_from(payload.len()).unwrap().to_be_bytes();
        let mut record = vec![0x16, 0x03, 0x01, len[0], len[1]];
        record.extend_from_slice(payload);
        record
    };
    let chunks = vec![record(&body), record(&vec![0; 1 << 14])];
    let refused = read_hello(chunks).await.unwrap_err();
    assert_eq!(
        refused,
        format!("a ClientHello over {MAX_CLIENT_HELLO} bytes")
    );
}
