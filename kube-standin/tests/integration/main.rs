//! Integration tests of the Kubernetes stand-in against a real etcd and a real kubectl (1.20).
//! `MAGNUM_TEST_ETCD_BIN` and `KUBECTL_BIN` name them; a test whose tool is missing returns
//! early with a line on stderr, unless `MAGNUM_TEST_REQUIRE_KUBE=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod harness;
mod kubectl;
mod nodes;
mod pki;
mod support;
