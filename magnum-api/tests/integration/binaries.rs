//! The binaries: `magnum-db-manage upgrade|version`, `magnum-api --print-sample-config`, and
//! clear start-up errors.

use std::process::Command;

fn run(bin: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn db_manage_upgrade_and_version() {
    let dir = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
    let conf = dir.path().join("magnum.conf");
    std::fs::write(
        &conf,
        format!(
            "[database]\nconnection = sqlite:///{}/m.sqlite\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_magnum-db-manage");
    let c = conf.to_str().unwrap();
    let (code, out, _) = run(bin, &["--config-file", c, "version"]);
    assert_eq!(
        (code, out.lines().next()),
        (0, Some("none (empty database)"))
    );
    let (code, out, _) = run(bin, &["--config-file", c, "upgrade"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("applied 2026"), "{out}");
    let (_, out, _) = run(bin, &["--config-file", c, "upgrade"]);
    assert_eq!(out.trim(), "database is up to date");
    let (code, out, _) = run(bin, &["--config-file", c, "version"]);
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        magnum_common::db::migrations::latest_known().unwrap()
    );
}

#[test]
fn bad_database_urls_are_named() {
    let dir = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
    for (url, needle) in [
        ("oracle://x/y", "unsupported scheme \"oracle\""),
        (
            "mysql://root:hunter2@127.0.0.1:1/magnum",
            "cannot connect to the mysql database at mysql://root:***@127.0.0.1:1/magnum",
        ),
        (
            "postgresql://u@127.0.0.1:1/magnum",
            "cannot connect to the postgres database",
        ),
    ] {
        let conf = dir.path().join("bad.conf");
        std::fs::write(&conf, format!("[database]\nconnection = {url}\n")).unwrap();
        let (code, _, err) = run(
            env!("CARGO_BIN_EXE_magnum-db-manage"),
            &["--config-file", conf.to_str().unwrap(), "upgrade"],
        );
        assert_ne!(code, 0);
        assert!(err.contains(needle), "{url}: {err}");
        assert!(!err.contains("hunter2"), "passwords never reach output");
        let (code, _, err) = run(
            env!("CARGO_BIN_EXE_magnum-api"),
            &["--config-file", conf.to_str().unwrap()],
        );
        assert_ne!(code, 0);
        assert!(err.contains(needle), "{url}: {err}");
    }
}

#[test]
fn sample_config_is_printed() {
    let (code, out, _) = run(env!("CARGO_BIN_EXE_magnum-api"), &["--print-sample-config"]);
    assert_eq!(code, 0);
    assert_eq!(out, magnum_common::config::sample_config());
    assert!(out.contains("#port = 9511") && out.contains("#max_clusters_per_project = 20"));
    let (code, _, err) = run(
        env!("CARGO_BIN_EXE_magnum-api"),
        &["--config-file", "/nonexistent/magnum.conf"],
    );
    assert_ne!(code, 0);
    assert!(err.contains("/nonexistent/magnum.conf"), "{err}");
}
