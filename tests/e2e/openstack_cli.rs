//! `openstack coe cluster template …` and `openstack coe cluster …`.

use magnum_tests::{Env, unique};

#[test]
fn cluster_template_lifecycle() {
    let Some(env) = Env::get() else { return };
    let name = unique("ct");
    let t = env
        .openstack(
            "demo",
            &[
                "coe",
                "cluster",
                "template",
                "create",
                &name,
                "--coe",
                "kubernetes",
                "--image",
                "fedora-coreos-40",
                "--external-network",
                "public",
                "--keypair",
                "default",
                "--flavor",
                "m1.small",
                "--master-flavor",
                "m1.medium",
                "--label",
                "kube_tag=v1.27.4",
                "-f",
                "json",
            ],
        )
        .json();
    assert_eq!(t["name"], name.as_str());
    assert_eq!(t["cluster_distro"], "fedora-coreos");
    assert_eq!(t["network_driver"], "flannel");
    let uuid = t["uuid"].as_str().unwrap().to_owned();
    let list = env
        .openstack(
            "demo",
            &["coe", "cluster", "template", "list", "-f", "json"],
        )
        .json();
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|x| x["uuid"] == uuid.as_str()),
        "{list}"
    );
    let shown = env
        .openstack(
            "demo",
            &["coe", "cluster", "template", "show", &name, "-f", "json"],
        )
        .json();
    assert_eq!(shown["uuid"], uuid.as_str());
    assert_eq!(shown["labels"]["kube_tag"], "v1.27.4");
    let renamed = format!("{name}-2");
    let updated = env
        .openstack(
            "demo",
            &[
                "coe", "cluster", "template", "update", &uuid, "--name", &renamed, "--flavor",
                "m1.large", "-f", "json",
            ],
        )
        .json();
    assert_eq!(
        (updated["name"].as_str(), updated["flavor_id"].as_str()),
        (Some(renamed.as_str()), Some("m1.large"))
    );
    // Another project sees nothing of it.
    let theirs = env
        .openstack(
            "alt_demo",
            &["coe", "cluster", "template", "list", "-f", "json"],
        )
        .json();
    assert!(
        !theirs
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["uuid"] == uuid.as_str())
    );
    let err = env
        .openstack("alt_demo", &["coe", "cluster", "template", "show", &uuid])
        .fails();
    assert!(err.contains("(HTTP 404)"), "{err}");
    env.openstack("demo", &["coe", "cluster", "template", "delete", &uuid])
        .ok();
    let err = env
        .openstack("demo", &["coe", "cluster", "template", "show", &uuid])
        .fails();
    assert!(
        err.contains("could not be found") || err.contains("(HTTP 404)"),
        "{err}"
    );
}

#[test]
fn cluster_lifecycle() {
    let Some(env) = Env::get() else { return };
    let ct = unique("ct");
    env.openstack(
        "demo",
        &[
            "coe",
            "cluster",
            "template",
            "create",
            &ct,
            "--coe",
            "kubernetes",
            "--image",
            "fedora-coreos-40",
            "--external-network",
            "public",
            "--keypair",
            "default",
            "-f",
            "json",
        ],
    )
    .json();
    let name = unique("c");
    let out = env
        .openstack(
            "demo",
            &[
                "coe",
                "cluster",
                "create",
                &name,
                "--cluster-template",
                &ct,
                "--node-count",
                "3",
            ],
        )
        .ok();
    assert!(
        out.contains("Request to create cluster") && out.contains("accepted"),
        "{out}"
    );
    let list = env
        .openstack("demo", &["coe", "cluster", "list", "-f", "json"])
        .json();
    let mine = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(mine["status"], "CREATE_IN_PROGRESS");
    assert_eq!(mine["node_count"], 3);
    let shown = env
        .openstack("demo", &["coe", "cluster", "show", &name, "-f", "json"])
        .json();
    assert_eq!(shown["master_count"], 1);
    assert_eq!(shown["keypair"], "default");
    assert_eq!(shown["project_id"].as_str().map(str::len), Some(32));
    let theirs = env
        .openstack("alt_demo", &["coe", "cluster", "list", "-f", "json"])
        .json();
    assert!(
        !theirs
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == name.as_str()),
        "alt_demo must not see demo's cluster"
    );
    // Admins see every project's clusters.
    let all = env
        .openstack("admin", &["coe", "cluster", "list", "-f", "json"])
        .json();
    assert!(
        all.as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == name.as_str())
    );
    // The template is in use (the client reports a failed delete on stdout and exits 0).
    let out = env
        .openstack("demo", &["coe", "cluster", "template", "delete", &ct])
        .ok();
    assert!(
        out.contains("is referenced by one or multiple clusters (HTTP 400)"),
        "{out}"
    );
    env.openstack("demo", &["coe", "cluster", "delete", &name])
        .ok();
    // The conductor deletes the stack: DELETE_IN_PROGRESS, DELETE_COMPLETE for as long as the
    // trust and certificates take (as upstream), then gone.
    let t0 = std::time::Instant::now();
    loop {
        let run = env.openstack("demo", &["coe", "cluster", "show", &name, "-f", "json"]);
        if run.code != 0 {
            assert!(run.stderr.contains("could not be found"), "{}", run.stderr);
            break;
        }
        let shown = run.json();
        assert!(
            shown["status"] == "DELETE_IN_PROGRESS" || shown["status"] == "DELETE_COMPLETE",
            "{shown}"
        );
        assert!(t0.elapsed().as_secs() < 300, "cluster not deleted");
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}

#[test]
fn bad_input_is_a_clear_cli_error() {
    let Some(env) = Env::get() else { return };
    let err = env
        .openstack(
            "demo",
            &[
                "coe",
                "cluster",
                "create",
                &unique("c"),
                "--cluster-template",
                "no-such-template",
            ],
        )
        .fails();
    assert!(
        err.contains("ClusterTemplate no-such-template could not be found")
            && err.contains("HTTP 404"),
        "{err}"
    );
    let err = env
        .openstack(
            "demo",
            &[
                "coe",
                "cluster",
                "template",
                "create",
                &unique("ct"),
                "--coe",
                "kubernetes",
                "--image",
                "no-such-image",
                "--external-network",
                "public",
            ],
        )
        .fails();
    assert!(
        err.contains("Image no-such-image could not be found") && err.contains("HTTP 400"),
        "{err}"
    );
    let err = env
        .openstack(
            "demo",
            &[
                "coe",
                "cluster",
                "template",
                "create",
                &unique("ct"),
                "--coe",
                "kubernetes",
                "--image",
                "fedora-coreos-40",
                "--external-network",
                "public",
                "--public",
            ],
        )
        .fails();
    assert!(err.contains("HTTP 403"), "{err}");
    let err = env
        .openstack("demo", &["coe", "cluster", "show", "no-such-cluster"])
        .fails();
    assert!(err.contains("HTTP 404"), "{err}");
}
