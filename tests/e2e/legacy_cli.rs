//! The legacy `magnum` client (python-magnumclient 3.7): baymodels and bays.

use magnum_tests::{Env, unique};

#[test]
fn baymodel_and_bay_with_the_legacy_client() {
    let Some(env) = Env::get() else { return };
    let bm = unique("bm");
    let out = env
        .magnum(
            "demo",
            &[
                "baymodel-create",
                "--name",
                &bm,
                "--coe",
                "kubernetes",
                "--image-id",
                "fedora-coreos-40",
                "--keypair-id",
                "default",
                "--external-network-id",
                "public",
                "--flavor-id",
                "m1.small",
                "--docker-volume-size",
                "5",
            ],
        )
        .ok();
    assert!(out.contains(&bm), "{out}");
    let bay = unique("bay");
    let out = env
        .magnum(
            "demo",
            &[
                "bay-create",
                "--name",
                &bay,
                "--baymodel",
                &bm,
                "--node-count",
                "3",
            ],
        )
        .ok();
    assert!(
        out.contains("Request to create bay") || out.contains("uuid"),
        "{out}"
    );
    let show = env.magnum("demo", &["bay-show", &bay]).ok();
    assert!(
        show.contains("CREATE_IN_PROGRESS") && show.contains("| node_count") && show.contains("3"),
        "{show}"
    );
    let list = env.magnum("demo", &["bay-list"]).ok();
    assert!(list.contains(&bay), "{list}");
    assert!(!env.magnum("alt_demo", &["bay-list"]).ok().contains(&bay));
    env.magnum("demo", &["bay-delete", &bay]).ok();
    // The conductor deletes the stack: DELETE_IN_PROGRESS, DELETE_COMPLETE for as long as the
    // trust and certificates take (as upstream), then gone.
    let t0 = std::time::Instant::now();
    loop {
        let run = env.magnum("demo", &["bay-show", &bay]);
        if run.code != 0 {
            assert!(run.stderr.contains("could not be found"), "{}", run.stderr);
            break;
        }
        assert!(
            run.stdout.contains("DELETE_IN_PROGRESS") || run.stdout.contains("DELETE_COMPLETE"),
            "{}",
            run.stdout
        );
        assert!(t0.elapsed().as_secs() < 300, "bay not deleted");
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
}
