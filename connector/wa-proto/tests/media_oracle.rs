//! Media crypto against frozen Baileys 6.7.21 `encryptedStream` vectors
//! (`tests/vectors/media.json`, made by `tests/oracle/gen-media.mjs`): plaintexts are
//! regenerated from their seeds; our encryption under Baileys' media key must give the
//! same MAC and hashes (so the same body, which Baileys decrypts), and our streaming
//! decryptor must verify and decrypt that body, in any chunking.

mod common;

use aes::cipher::{KeyIvInit, StreamCipher};
use common::{hexf, vectors};
use sha2::{Digest, Sha256};
use wa_proto::media::{
    ExpectedHashes, MediaDecryptor, MediaEncryptor, MediaError, MediaType, decrypt,
};

type Ctr = ctr::Ctr128BE<aes::Aes256>;

fn plaintext(seed: u64, len: usize) -> Vec<u8> {
    let key: [u8; 32] = Sha256::digest(format!("wa-proto media {seed}")).into();
    let mut c = Ctr::new(&key.into(), &[0u8; 16].into());
    let mut p = vec![0u8; len];
    c.apply_keystream(&mut p);
    p
}

#[test]
fn baileys_media_vectors_both_ways() {
    let v = vectors("media.json");
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 50);
    for (n, case) in cases.iter().enumerate() {
        let ty = MediaType::from_name(case["type"].as_str().unwrap()).unwrap();
        let len = case["len"].as_u64().unwrap() as usize;
        let plain = plaintext(case["seed"].as_u64().unwrap(), len);
        let key: [u8; 32] = hexf(case, "media_key").try_into().unwrap();
        let chunk = [1, 7, 16, 100, 4096, 65536][n % 6];
        let mut enc = MediaEncryptor::new(&key, ty);
        let mut body = Vec::new();
        for c in plain.chunks(chunk) {
            enc.update(c, &mut body);
        }
        let meta = enc.finish(&mut body);
        assert_eq!(meta.mac.to_vec(), hexf(case, "mac"), "{case}");
        assert_eq!(meta.file_sha256.to_vec(), hexf(case, "file_sha256"));
        assert_eq!(meta.file_enc_sha256.to_vec(), hexf(case, "file_enc_sha256"));
        assert_eq!(meta.file_length, case["file_length"].as_u64().unwrap());
        if case.get("body").is_some() {
            assert_eq!(body, hexf(case, "body"));
        }
        let expected = ExpectedHashes {
            file_enc_sha256: Some(hexf(case, "file_enc_sha256").try_into().unwrap()),
            file_sha256: Some(hexf(case, "file_sha256").try_into().unwrap()),
        };
        let mut dec = MediaDecryptor::new(&key, ty);
        let mut out = Vec::new();
        for c in body.chunks(chunk + 3) {
            dec.update(c, &mut out);
        }
        dec.finish(&mut out, &expected).unwrap();
        assert!(out == plain);
        // A flipped byte anywhere is caught and named.
        let mut bad = body.clone();
        let at = (n * 7919) % bad.len();
        bad[at] ^= 0x40;
        let err = decrypt(&key, ty, &bad, &expected).unwrap_err();
        assert!(
            matches!(err, MediaError::BadMac | MediaError::EncSha256Mismatch),
            "{err}"
        );
    }
}
