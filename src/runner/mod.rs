//! See DESIGN.md: the `runner` module.
