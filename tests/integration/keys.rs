//! Key loading: what the key ring accepts, what it refuses (and says so in one line), and
//! rotation through the folder.

use std::path::Path;
use std::process::Command;

use portcullis::keys::{generate_key, rotate, KeyOrigin, KeyRing};

use crate::common::temp_dir;

fn openssl(args: &[&str], out: &Path) {
    let status = Command::new("openssl")
        .args(args)
        .arg("-out")
        .arg(out)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

fn refusal(dir: &Path) -> String {
    let error = match KeyRing::load(dir) {
        Ok(_) => panic!("keys in {} should have been refused", dir.display()),
        Err(e) => e.to_string(),
    };
    assert!(!error.contains('\n'), "{error}");
    error
}

#[test]
fn an_empty_or_missing_folder_is_refused() {
    let dir = temp_dir();
    assert!(refusal(dir.path()).contains("no signing key"));
    assert!(refusal(&dir.path().join("missing")).contains("cannot read keys folder"));
}

#[test]
fn non_rsa_small_and_garbage_keys_are_refused() {
    let dir = temp_dir();
    let ec = dir.path().join("ec.pem");
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ],
        &ec,
    );
    assert!(refusal(dir.path()).contains("not an RSA key"));
    std::fs::remove_file(&ec).unwrap();

    let small = dir.path().join("small.pem");
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
        ],
        &small,
    );
    assert!(
        refusal(dir.path()).contains("smaller than 2048"),
        "{}",
        refusal(dir.path())
    );
    std::fs::remove_file(&small).unwrap();

    std::fs::write(dir.path().join("junk.pem"), "hello").unwrap();
    assert!(refusal(dir.path()).contains("not a PEM file"));
}

#[test]
fn a_generated_key_loads_with_its_thumbprint_as_kid() {
    let dir = temp_dir();
    let generated = generate_key(dir.path(), false).unwrap();
    assert!(
        generated.signs_from.is_some(),
        "the first key becomes active"
    );
    let file = dir.path().join(format!("{}.pem", generated.kid));
    assert_eq!(generated.origin, KeyOrigin::File(file.clone()));
    let ring = KeyRing::load(dir.path()).unwrap();
    let set = ring.snapshot();
    assert_eq!(set.active().kid(), generated.kid);
    assert_eq!(set.active().bits(), 2048);
    let jwk = set.active().jwk();
    assert_eq!((jwk.kty, jwk.alg, jwk.use_), ("RSA", "RS256", "sig"));
    assert_eq!(jwk.e, "AQAB");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn rotation_keeps_old_keys_for_verification() {
    let dir = temp_dir();
    let first = generate_key(dir.path(), false).unwrap();
    let ring = KeyRing::load(dir.path()).unwrap();
    let second = rotate(dir.path()).unwrap();
    assert!(ring.reload_if_changed().unwrap());
    let set = ring.snapshot();
    assert_eq!(set.active().kid(), second.kid);
    assert!(set.find(&first.kid).is_some());
    assert_eq!(set.keys().len(), 2);
    assert!(!ring.reload_if_changed().unwrap(), "nothing changed since");

    // A second key that is not activated leaves the signing key alone.
    let third = generate_key(dir.path(), false).unwrap();
    assert!(third.signs_from.is_none());
    assert!(ring.reload_if_changed().unwrap());
    assert_eq!(ring.snapshot().active().kid(), second.kid);
}

#[test]
fn several_keys_need_a_marker_naming_a_present_key() {
    let dir = temp_dir();
    generate_key(dir.path(), false).unwrap();
    generate_key(dir.path(), false).unwrap();
    std::fs::remove_file(dir.path().join("active")).unwrap();
    assert!(refusal(dir.path()).contains("no `active` file"));
    std::fs::write(dir.path().join("active"), "nonexistent-kid\n").unwrap();
    assert!(refusal(dir.path()).contains("nonexistent-kid"));
}

#[test]
fn a_broken_folder_keeps_the_previous_keys_in_service() {
    let dir = temp_dir();
    let first = generate_key(dir.path(), false).unwrap();
    let ring = KeyRing::load(dir.path()).unwrap();
    std::fs::write(dir.path().join("broken.pem"), "garbage").unwrap();
    assert!(ring.reload_if_changed().is_err());
    assert_eq!(ring.snapshot().active().kid(), first.kid);
}
