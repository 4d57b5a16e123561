//! See DESIGN.md: the `target` module.
