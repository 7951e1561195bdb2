//! `magnum-conductor`.
fn main() {}
