use magnum_common::db::models::cluster::{self, Cluster};
use magnum_common::db::models::nodegroup::{self, NodeGroup};
use magnum_common::db::models::pending_operation::{self, PendingOperation};
use magnum_common::db::models::{ByName, Scope};
use magnum_common::db::testing::all_backends;
use magnum_common::db::{DbError, JsonList, JsonMap, MaybeHealth};
use magnum_common::ids::{ClusterUuid, ProjectId, UserId};
use magnum_common::status::{ClusterStatus, HealthStatus};

use super::{cluster, template};

#[test]
fn create_writes_cluster_nodegroups_and_operation_together() {
    for t in all_backends("create_atomic") {
        let conn = &mut *t.db.conn().unwrap();
        let ct = template(conn, "p1", "k8s");
        let c = cluster(conn, &ct, "p1", Some("c1"), 3);
        assert_eq!(c.status, ClusterStatus::CreateInProgress);
        let ngs = nodegroup::list_for_clusters(conn, &[c.uuid]).unwrap();
        assert_eq!(
            ngs.iter()
                .map(|n| (n.name.as_str(), n.node_count))
                .collect::<Vec<_>>(),
            [("default-master", 1), ("default-worker", 3)]
        );
        let ops = pending_operation::list_for_cluster(conn, c.uuid).unwrap();
        assert_eq!(ops.len(), 1, "{}", t.name());
        assert_eq!(ops[0].method, "cluster_create");

        // A failure in the middle (two node groups with one name) leaves nothing behind.
        let bad = Cluster::new(ProjectId::from("p1"), UserId::from("u1"), ct.uuid);
        let uuid = bad.uuid;
        let ng = |n| NodeGroup::new(uuid, ProjectId::from("p1"), n, "worker");
        let op = PendingOperation::new(
            uuid,
            None,
            "cluster_create",
            serde_json::json!({}),
            serde_json::json!({}),
        );
        let err = cluster::create_with_nodegroups(conn, bad, vec![ng("same"), ng("same")], op)
            .unwrap_err();
        assert!(matches!(err, DbError::Duplicate(_)), "{}: {err}", t.name());
        assert!(
            cluster::get_by_uuid(conn, &Scope::All, uuid)
                .unwrap()
                .is_none(),
            "{}",
            t.name()
        );
        assert!(
            nodegroup::list_for_clusters(conn, &[uuid])
                .unwrap()
                .is_empty()
        );
        assert!(
            pending_operation::list_for_cluster(conn, uuid)
                .unwrap()
                .is_empty()
        );
    }
}

#[test]
fn write_transactions_nest() {
    use magnum_common::db::write_transaction;
    for t in all_backends("nesting") {
        let conn = &mut *t.db.conn().unwrap();
        let ct = template(conn, "p1", "k8s");
        // The outer transaction counts and creates (as the quota check does); the inner
        // create runs as a savepoint. A failure after it rolls both back.
        let result: Result<(), DbError> = write_transaction(conn, |c| {
            assert_eq!(cluster::count(c, &Scope::All)?, 0);
            cluster(c, &ct, "p1", Some("inner"), 1);
            Err(DbError::Corrupt("abort".to_owned()))
        });
        assert!(result.is_err());
        assert_eq!(
            cluster::count(conn, &Scope::All).unwrap(),
            0,
            "{}: rolled back",
            t.name()
        );
        write_transaction(conn, |c| -> Result<(), DbError> {
            cluster(c, &ct, "p1", Some("kept"), 1);
            Ok(())
        })
        .unwrap();
        assert_eq!(
            cluster::count(conn, &Scope::All).unwrap(),
            1,
            "{}",
            t.name()
        );
    }
}

#[test]
fn lookups_are_scoped_and_names_can_be_ambiguous() {
    for t in all_backends("lookups") {
        let conn = &mut *t.db.conn().unwrap();
        let ct = template(conn, "p1", "k8s");
        let a = cluster(conn, &ct, "p1", Some("twin"), 1);
        cluster(conn, &ct, "p1", Some("twin"), 1);
        let other = cluster(conn, &ct, "p2", Some("solo"), 1);
        let p1 = Scope::Project(ProjectId::from("p1"));
        assert!(cluster::get_by_uuid(conn, &p1, a.uuid).unwrap().is_some());
        assert!(
            cluster::get_by_uuid(conn, &p1, other.uuid)
                .unwrap()
                .is_none(),
            "{}: another project's cluster leaked",
            t.name()
        );
        assert!(
            cluster::get_by_uuid(conn, &Scope::All, other.uuid)
                .unwrap()
                .is_some()
        );
        assert!(matches!(
            cluster::get_by_name(conn, &p1, "twin").unwrap(),
            ByName::Many
        ));
        assert!(matches!(
            cluster::get_by_name(conn, &p1, "solo").unwrap(),
            ByName::None
        ));
        assert!(
            matches!(cluster::get_by_name(conn, &Scope::All, "solo").unwrap(), ByName::One(c) if c.uuid == other.uuid)
        );
        assert!(
            cluster::get_by_uuid(conn, &Scope::All, ClusterUuid::new())
                .unwrap()
                .is_none()
        );
        assert_eq!(cluster::count(conn, &p1).unwrap(), 2);
        assert_eq!(cluster::stats(conn, &p1).unwrap(), (2, 4));
        assert_eq!(cluster::stats(conn, &Scope::All).unwrap(), (3, 6));
    }
}

#[test]
fn saved_fields_round_trip() {
    for t in all_backends("round_trip") {
        let conn = &mut *t.db.conn().unwrap();
        let ct = template(conn, "p1", "k8s");
        let mut c = cluster(conn, &ct, "p1", Some("c1"), 1);
        c.labels = JsonMap(
            [
                ("a".to_owned(), "1".to_owned()),
                ("ünï".to_owned(), "cödé".to_owned()),
            ]
            .into(),
        );
        c.health_status = MaybeHealth(Some(HealthStatus::Unhealthy));
        c.health_status_reason = JsonMap([("api".to_owned(), "ok".to_owned())].into());
        c.status = ClusterStatus::UpdateInProgress;
        c.master_lb_enabled = true;
        c.api_address = Some("https://10.0.0.5:6443".to_owned());
        let op = PendingOperation::new(
            c.uuid,
            None,
            "cluster_update",
            serde_json::json!({}),
            serde_json::json!({}),
        );
        let saved = cluster::save_with_operation(conn, c.clone(), op).unwrap();
        let read = cluster::get_by_uuid(conn, &Scope::All, c.uuid)
            .unwrap()
            .unwrap();
        assert_eq!(read, saved, "{}", t.name());
        assert!(read.updated_at.is_some());
        assert_eq!(
            pending_operation::list_for_cluster(conn, c.uuid)
                .unwrap()
                .len(),
            2
        );

        let mut ngs = nodegroup::list_for_clusters(conn, &[c.uuid]).unwrap();
        let mut w = ngs.pop().unwrap();
        w.node_addresses = JsonList(vec!["10.0.0.7".to_owned(), "10.0.0.8".to_owned()]);
        w.max_node_count = Some(7);
        let w = nodegroup::save(conn, w).unwrap();
        assert_eq!(
            nodegroup::get_by_uuid(conn, c.uuid, w.uuid)
                .unwrap()
                .unwrap(),
            w,
            "{}",
            t.name()
        );
        assert!(nodegroup::get_by_id(conn, c.uuid, w.id).unwrap().is_some());
        assert!(
            nodegroup::get_by_id(conn, ClusterUuid::new(), w.id)
                .unwrap()
                .is_none()
        );

        cluster::destroy(conn, c.uuid).unwrap();
        assert!(
            cluster::get_by_uuid(conn, &Scope::All, c.uuid)
                .unwrap()
                .is_none()
        );
        assert!(
            nodegroup::list_for_clusters(conn, &[c.uuid])
                .unwrap()
                .is_empty()
        );
    }
}
