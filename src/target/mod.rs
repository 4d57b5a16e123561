//! See DESIGN.md: the `target` module.

pub mod command;
pub mod etcd;
pub mod external;
pub mod redis;
