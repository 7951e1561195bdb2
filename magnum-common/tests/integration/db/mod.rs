//! Database tests, run against SQLite and every server in `MAGNUM_TEST_DATABASE_URLS`.

mod clusters;
mod pagination;
mod schema;
mod small_tables;

use magnum_common::db::models::cluster::Cluster;
use magnum_common::db::models::cluster_template::ClusterTemplate;
use magnum_common::db::models::nodegroup::NodeGroup;
use magnum_common::db::models::pending_operation::PendingOperation;
use magnum_common::db::{AnyConnection, JsonMap};
use magnum_common::ids::{ClusterUuid, ProjectId, UserId};
use magnum_common::status::Coe;

pub fn template(conn: &mut AnyConnection, project: &str, name: &str) -> ClusterTemplate {
    let mut t = ClusterTemplate::new(
        ProjectId::from(project),
        UserId::from("u1"),
        Coe::Kubernetes,
    );
    t.name = Some(name.to_owned());
    t.image_id = Some("fedora-coreos-40".to_owned());
    t.labels = JsonMap([("kube_tag".to_owned(), "v1.27".to_owned())].into());
    magnum_common::db::models::cluster_template::create(conn, t).expect("create template")
}

pub fn cluster(
    conn: &mut AnyConnection,
    template: &ClusterTemplate,
    project: &str,
    name: Option<&str>,
    workers: i32,
) -> Cluster {
    let mut c = Cluster::new(ProjectId::from(project), UserId::from("u1"), template.uuid);
    c.name = name.map(str::to_owned);
    let uuid = c.uuid;
    let mut master = NodeGroup::new(uuid, c.project_id.clone(), "default-master", "master");
    master.is_default = true;
    let mut worker = NodeGroup::new(uuid, c.project_id.clone(), "default-worker", "worker");
    worker.is_default = true;
    worker.node_count = workers;
    let op = PendingOperation::new(
        uuid,
        None,
        "cluster_create",
        serde_json::json!({"node_count": workers}),
        serde_json::json!({}),
    );
    magnum_common::db::models::cluster::create_with_nodegroups(conn, c, vec![master, worker], op)
        .expect("create cluster")
}

pub fn uuids(rows: &[Cluster]) -> Vec<ClusterUuid> {
    rows.iter().map(|c| c.uuid).collect()
}
