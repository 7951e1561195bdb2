use magnum_common::db::migrations;
use magnum_common::db::testing::all_backends;

#[test]
fn migrations_apply_once_and_report_their_version() {
    for t in all_backends("migrations") {
        let mut conn = t.db.conn().unwrap();
        let version = migrations::version(&mut conn).unwrap();
        assert_eq!(version, migrations::latest_known(), "{}", t.name());
        assert!(
            t.db.migrate().unwrap().is_empty(),
            "{}: second upgrade must be a no-op",
            t.name()
        );
    }
}
