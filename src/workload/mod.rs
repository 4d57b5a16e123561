//! See DESIGN.md: the `workload` module.
