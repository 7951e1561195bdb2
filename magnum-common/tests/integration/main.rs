//! magnum-common's integration tests, in one binary: the database layer on every configured
//! backend (`db`), the oslo.messaging-compatible RPC layer against RabbitMQ and a Python peer
//! (`rpc`), the Heat and Keystone clients against the real services (`heat`, with the
//! `openstack` feature). `scripts/test.sh` provides every service; each module says how to run
//! it alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a failed set-up or assertion should panic"
)]

#[cfg(feature = "db")]
mod db;
#[cfg(feature = "openstack")]
mod heat;
#[cfg(feature = "rpc")]
mod rpc;
