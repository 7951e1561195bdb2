use super::*;

#[test]
fn defaults_are_upstreams() {
    let cfg = Config::from_raw(&RawConfig::default()).unwrap();
    assert_eq!(cfg.api.port, 9511);
    assert_eq!(cfg.api.max_limit, 1000);
    assert_eq!(cfg.quotas.max_clusters_per_project, 20);
    assert_eq!(
        cfg.cluster_template.kubernetes_default_network_driver,
        "flannel"
    );
    assert_eq!(
        cfg.keystone_authtoken.service_token_roles,
        vec!["service".to_owned()]
    );
    assert_eq!(
        cfg.database_url(),
        "sqlite:////var/lib/magnum/magnum.sqlite"
    );
}

#[test]
fn later_files_win_and_dir_is_read_sorted() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.conf");
    let b = dir.path().join("b.conf");
    std::fs::write(
        &a,
        "[api]\nport = 1000\nmax_limit=5\n[DEFAULT]\ndebug = true\n",
    )
    .unwrap();
    std::fs::write(&b, "[api]\nport = 2000\n").unwrap();
    let confd = dir.path().join("conf.d");
    std::fs::create_dir(&confd).unwrap();
    std::fs::write(confd.join("20-x.conf"), "[api]\nmax_limit = 7\n").unwrap();
    std::fs::write(
        confd.join("10-x.conf"),
        "[api]\nmax_limit = 6\nworkers = 3\n",
    )
    .unwrap();
    std::fs::write(confd.join("ignored.txt"), "[api]\nworkers = 9\n").unwrap();

    let cfg = Config::load(&[a.clone(), b], &[]).unwrap();
    assert_eq!(cfg.api.port, 2000);
    assert_eq!(cfg.api.max_limit, 5);
    assert!(cfg.default.debug);

    let cfg = Config::load(&[a], &[confd]).unwrap();
    assert_eq!(cfg.api.max_limit, 7);
    assert_eq!(cfg.api.workers, 3);
}

#[test]
fn lists_secrets_and_oslo_spellings() {
    let mut raw = RawConfig::default();
    raw.merge_str(
        "[keystone_authtoken]\npassword = hunter2\nservice_token_roles = service, admin\n\
         [cluster_template]\nkubernetes-allowed-network-drivers = calico\n",
    )
    .unwrap();
    let cfg = Config::from_raw(&raw).unwrap();
    assert_eq!(cfg.keystone_authtoken.password.expose(), "hunter2");
    assert!(
        !format!("{cfg:?}").contains("hunter2"),
        "secrets never reach Debug output"
    );
    assert_eq!(
        cfg.keystone_authtoken.service_token_roles,
        ["service", "admin"]
    );
    assert_eq!(
        cfg.cluster_template.kubernetes_allowed_network_drivers,
        ["calico"]
    );
}

#[test]
fn bad_values_name_the_option() {
    let mut raw = RawConfig::default();
    raw.merge_str("[api]\nport = ninety\n").unwrap();
    let err = Config::from_raw(&raw).unwrap_err().to_string();
    assert!(err.contains("[api] port"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.conf");
    let err = Config::load(&[missing], &[]).unwrap_err().to_string();
    assert!(err.contains("nope.conf"), "{err}");
}

/// The committed sample must match what the code generates. Regenerate it with
/// `MAGNUM_UPDATE_SAMPLE=1 cargo test -p magnum-common committed_sample` (or
/// `magnum-api --print-sample-config`).
#[test]
fn committed_sample_is_current() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../etc/magnum/magnum.conf.sample"
    );
    if std::env::var_os("MAGNUM_UPDATE_SAMPLE").is_some() {
        std::fs::write(path, sample_config()).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == sample_config(),
        "etc/magnum/magnum.conf.sample is stale: regenerate it with \
         `MAGNUM_UPDATE_SAMPLE=1 cargo test -p magnum-common committed_sample`"
    );
}

#[test]
fn every_option_has_a_doc_line() {
    for group in Config::docs() {
        for opt in group.options {
            assert!(
                !opt.help.is_empty(),
                "[{}] {} has no doc line",
                group.name,
                opt.name
            );
        }
    }
}
