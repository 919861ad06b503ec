//! `prescale install` refuses, with the flag and how to fix it, what the API server would
//! refuse halfway through `kubectl apply`.

use std::process::Command;

fn install(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_prescale"))
        .arg("install")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_namespace_the_server_would_refuse_is_refused_with_its_flag() {
    let (code, stdout, stderr) = install(&["--namespace", "Prescale_System"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "no partial manifest: {stdout}");
    assert!(
        stderr.contains("--namespace: \"Prescale_System\" must be a lowercase RFC 1123 label"),
        "{stderr}"
    );
}

#[test]
fn an_empty_image_tag_is_refused() {
    let (code, stdout, stderr) = install(&["--image-tag", ""]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stdout.is_empty(), "no partial manifest: {stdout}");
    assert!(stderr.contains("is not an image tag"), "{stderr}");
}

#[test]
fn the_defaults_install() {
    let (code, stdout, stderr) = install(&[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("kind: Deployment"), "{stdout}");
}
