use magnum_common::db::models::{Scope, magnum_service, quota};
use magnum_common::db::testing::all_backends;
use magnum_common::db::{DbError, Page, now};
use magnum_common::ids::ProjectId;

#[test]
fn quotas_are_unique_per_project_and_resource() {
    for t in all_backends("quotas") {
        let conn = &mut *t.db.conn().unwrap();
        let q = quota::create(conn, ProjectId::from("p1"), "Cluster", 5).unwrap();
        assert_eq!(q.hard_limit, 5);
        let dup = quota::create(conn, ProjectId::from("p1"), "Cluster", 6).unwrap_err();
        assert!(matches!(dup, DbError::Duplicate(_)), "{}: {dup}", t.name());
        quota::create(conn, ProjectId::from("p2"), "Cluster", 1).unwrap();
        let mine = quota::list(
            conn,
            &Scope::Project(ProjectId::from("p2")),
            &Page::first(10),
        )
        .unwrap();
        assert_eq!(mine.len(), 1);
        assert_eq!(
            quota::list(conn, &Scope::All, &Page::first(10))
                .unwrap()
                .len(),
            2
        );
        let mut q = quota::get(conn, &ProjectId::from("p1"), "Cluster")
            .unwrap()
            .unwrap();
        q.hard_limit = 0;
        quota::save(conn, q.clone()).unwrap();
        assert_eq!(
            quota::get(conn, &ProjectId::from("p1"), "Cluster")
                .unwrap()
                .unwrap()
                .hard_limit,
            0
        );
        assert_eq!(quota::delete(conn, q.id).unwrap(), 1);
        assert!(
            quota::get(conn, &ProjectId::from("p1"), "Cluster")
                .unwrap()
                .is_none()
        );
    }
}

#[test]
fn service_heartbeats_upsert() {
    for t in all_backends("services") {
        let conn = &mut *t.db.conn().unwrap();
        let first = magnum_service::heartbeat(conn, "host-a", "magnum-conductor").unwrap();
        assert_eq!(first.report_count, 1);
        let second = magnum_service::heartbeat(conn, "host-a", "magnum-conductor").unwrap();
        assert_eq!(
            (second.id, second.report_count),
            (first.id, 2),
            "{}",
            t.name()
        );
        magnum_service::heartbeat(conn, "host-b", "magnum-conductor").unwrap();
        let all = magnum_service::list(conn).unwrap();
        assert_eq!(all.len(), 2);
        assert!(all[0].is_up(now(), 180));
        assert!(!all[0].is_up(now() + chrono::Duration::seconds(181), 180));
    }
}
