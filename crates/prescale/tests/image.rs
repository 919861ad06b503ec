//! scripts/image: the OCI archive it writes is unpacked the way a container runtime does
//! (index → manifest → config and layers), and prescale runs out of that root filesystem,
//! chrooted into it as the image's user, so it can use nothing the image lacks (not even a
//! shared library of this machine: the image must carry each one the binary loads).
//!
//! The image is built with `--binary`: the same script and assembly as a release image,
//! around the dev-profile binary this test suite has just built, because a release build
//! takes 8+ minutes on the 2-core machine CI runs on. PRESCALE_SKIP_IMAGE=1 skips the test
//! (developers only; CI never sets it).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn json(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The blob a descriptor points at, in an OCI image layout.
fn blob(layout: &Path, descriptor: &Value) -> PathBuf {
    let digest = descriptor["digest"].as_str().expect("a digest");
    let (algorithm, hex) = digest.split_once(':').expect("algorithm:hex");
    layout.join("blobs").join(algorithm).join(hex)
}

/// What the Dockerfile's final stage says for `instruction` (USER, ENTRYPOINT, ...).
fn dockerfile(instruction: &str) -> String {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).expect("Dockerfile");
    let stage = text.rsplit("\nFROM ").next().expect("a final stage");
    stage
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{instruction} ")))
        .unwrap_or_else(|| panic!("the Dockerfile's final stage has no {instruction}"))
        .trim()
        .to_string()
}

/// The image every installation deploys: `prescale install`'s (the chart's default, which
/// tests/helm checks is the same).
fn installed_image() -> String {
    let manifest = run(Command::new(env!("CARGO_BIN_EXE_prescale")).arg("install"));
    manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("image: "))
        .expect("prescale install names an image")
        .to_string()
}

/// Runs `prescale args` inside `rootfs` as the image's user.
fn in_image(rootfs: &Path, user: &str, args: &[&str]) -> String {
    let is_root = run(Command::new("id").arg("-u")).trim() == "0";
    let mut command = if is_root {
        let mut c = Command::new("chroot");
        c.arg(format!("--userspec={user}"));
        c
    } else {
        // Unprivileged: chroot inside a user namespace of our own.
        let mut c = Command::new("unshare");
        c.args(["--user", "--map-root-user", "chroot"]);
        c
    };
    command
        .arg(rootfs)
        .arg("/usr/local/bin/prescale")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    run(&mut command)
}

#[test]
fn image_archive_runs_prescale_from_its_root_filesystem() {
    if std::env::var("PRESCALE_SKIP_IMAGE").as_deref() == Ok("1") {
        eprintln!(
            "\n!!! image test: SKIPPED — PRESCALE_SKIP_IMAGE=1, the image was not built !!!\n"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("prescale.oci.tar");
    run(Command::new(repo().join("scripts/image"))
        .arg("--binary")
        .arg(env!("CARGO_BIN_EXE_prescale"))
        .arg("--out")
        .arg(&archive));

    let layout = dir.path().join("layout");
    std::fs::create_dir(&layout).unwrap();
    run(Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&layout));
    assert_eq!(
        json(&layout.join("oci-layout"))["imageLayoutVersion"],
        "1.0.0"
    );
    let index = json(&layout.join("index.json"));
    let descriptor = &index["manifests"][0];
    assert_eq!(
        descriptor["annotations"]["io.containerd.image.name"],
        installed_image(),
        "the archive is named after the image prescale install and the chart deploy"
    );
    assert_eq!(
        descriptor["annotations"]["org.opencontainers.image.ref.name"],
        env!("CARGO_PKG_VERSION")
    );
    let manifest = json(&blob(&layout, descriptor));
    let config = json(&blob(&layout, &manifest["config"]));
    assert_eq!(config["os"], "linux");
    assert!(
        ["amd64", "arm64"].contains(&config["architecture"].as_str().unwrap()),
        "{config}"
    );

    // The runtime configuration is the Dockerfile's.
    let runtime = &config["config"];
    assert_eq!(runtime["User"], dockerfile("USER"));
    let entrypoint: Value = serde_json::from_str(&dockerfile("ENTRYPOINT")).unwrap();
    let cmd: Value = serde_json::from_str(&dockerfile("CMD")).unwrap();
    assert_eq!(runtime["Entrypoint"], entrypoint);
    assert_eq!(runtime["Cmd"], cmd);
    assert!(
        runtime["ExposedPorts"].get(dockerfile("EXPOSE")).is_some(),
        "{runtime}"
    );
    let env = dockerfile("ENV");
    assert!(
        runtime["Env"]
            .as_array()
            .unwrap()
            .contains(&Value::from(env.clone())),
        "{runtime} lacks {env}"
    );

    // Unpack the layers in order, as a runtime does.
    let rootfs = dir.path().join("rootfs");
    std::fs::create_dir(&rootfs).unwrap();
    for layer in manifest["layers"].as_array().expect("layers") {
        assert_eq!(
            layer["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+gzip"
        );
        run(Command::new("tar")
            .arg("-xzf")
            .arg(blob(&layout, layer))
            .arg("-C")
            .arg(&rootfs));
    }
    let ca = rootfs.join("etc/ssl/certs/ca-certificates.crt");
    assert!(
        std::fs::read_to_string(&ca).is_ok_and(|c| c.contains("BEGIN CERTIFICATE")),
        "{} is missing",
        ca.display()
    );

    let user = runtime["User"].as_str().unwrap();
    assert_eq!(
        in_image(&rootfs, user, &["--version"]).trim(),
        format!("prescale {}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        in_image(&rootfs, user, &["crds"]),
        prescale_api::crd::crds_yaml(),
        "prescale crds from the image"
    );
}
