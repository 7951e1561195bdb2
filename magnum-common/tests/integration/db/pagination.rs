use magnum_common::db::models::Scope;
use magnum_common::db::models::cluster;
use magnum_common::db::models::cluster_template::{self, Visibility};
use magnum_common::db::pagination::Sortable;
use magnum_common::db::testing::all_backends;
use magnum_common::db::{Page, SortDir};
use magnum_common::ids::ProjectId;

use super::{cluster, template, uuids};

/// Walks every page of `sort_key`/`dir` with `limit` and returns the names seen.
fn walk(
    conn: &mut magnum_common::db::AnyConnection,
    key: &'static str,
    dir: SortDir,
    limit: i64,
) -> Vec<Option<String>> {
    let mut seen = Vec::new();
    let mut page = Page {
        limit,
        sort_key: key,
        sort_dir: dir,
        marker: None,
    };
    loop {
        let rows = cluster::list(conn, &Scope::All, &page).unwrap();
        seen.extend(rows.iter().map(|c| c.name.clone()));
        match rows.last() {
            Some(last) if rows.len() as i64 == limit => page = page.clone().after(last),
            _ => return seen,
        }
    }
}

#[test]
fn pages_cover_every_row_once_in_order_with_nulls_first() {
    for t in all_backends("pages") {
        let conn = &mut *t.db.conn().unwrap();
        let ct = template(conn, "p1", "k8s");
        for name in [
            Some("delta"),
            None,
            Some("alpha"),
            Some("charlie"),
            None,
            Some("bravo"),
            Some("alpha"),
        ] {
            cluster(conn, &ct, "p1", name, 1);
        }
        let asc = walk(conn, "name", SortDir::Asc, 2);
        let names: Vec<_> = asc.iter().map(|n| n.as_deref().unwrap_or("-")).collect();
        assert_eq!(
            names,
            ["-", "-", "alpha", "alpha", "bravo", "charlie", "delta"],
            "{}",
            t.name()
        );
        let desc = walk(conn, "name", SortDir::Desc, 3);
        let names: Vec<_> = desc.iter().map(|n| n.as_deref().unwrap_or("-")).collect();
        assert_eq!(
            names,
            ["delta", "charlie", "bravo", "alpha", "alpha", "-", "-"],
            "{}",
            t.name()
        );
        assert_eq!(walk(conn, "id", SortDir::Desc, 4).len(), 7);
        assert_eq!(walk(conn, "created_at", SortDir::Asc, 1).len(), 7);
        assert_eq!(walk(conn, "master_lb_enabled", SortDir::Asc, 2).len(), 7);

        let first = cluster::list(conn, &Scope::All, &Page::first(3)).unwrap();
        assert_eq!(first.len(), 3);
        let next = cluster::list(conn, &Scope::All, &Page::first(3).after(&first[2])).unwrap();
        assert!(uuids(&next).iter().all(|u| !uuids(&first).contains(u)));
    }
}

#[test]
fn sort_keys_are_a_whitelist_without_secrets() {
    use magnum_common::db::models::cluster::Cluster;
    assert_eq!(Cluster::sort_key("name"), Some("name"));
    for secret in [
        "trustee_password",
        "trust_id",
        "ca_cert_ref",
        "labels",
        "name; DROP TABLE cluster",
    ] {
        assert_eq!(Cluster::sort_key(secret), None, "{secret}");
    }
}

#[test]
fn template_visibility() {
    for t in all_backends("visibility") {
        let conn = &mut *t.db.conn().unwrap();
        template(conn, "p1", "own");
        let mut public = template(conn, "p2", "public");
        public.public = true;
        cluster_template::save(conn, public).unwrap();
        let mut hidden = template(conn, "p2", "hidden-public");
        hidden.public = true;
        hidden.hidden = true;
        cluster_template::save(conn, hidden).unwrap();
        template(conn, "p2", "private");
        let names = |v: &Visibility, conn: &mut _| -> Vec<String> {
            cluster_template::list(conn, v, &Page::first(100))
                .unwrap()
                .into_iter()
                .filter_map(|t| t.name)
                .collect()
        };
        let p1 = Visibility::Project {
            project: ProjectId::from("p1"),
            include_hidden: false,
        };
        assert_eq!(names(&p1, conn), ["own", "public"], "{}", t.name());
        let p1h = Visibility::Project {
            project: ProjectId::from("p1"),
            include_hidden: true,
        };
        assert_eq!(names(&p1h, conn), ["own", "public", "hidden-public"]);
        assert_eq!(names(&Visibility::All, conn).len(), 4);
    }
}
