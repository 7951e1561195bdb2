//! End to end: the real magnum-api process, registered in a real Keystone's catalog, driven by
//! the upstream `openstack coe` client (python-magnumclient 5) and the legacy `magnum` 3.7 client.

mod legacy_cli;
mod openstack_cli;
