//! Notifications: CADF `magnum.cluster.{create,update,delete}` events.

pub mod cadf;
