//! Keystone and cloud clients.
