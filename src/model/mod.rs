//! See DESIGN.md: the `model` module.
