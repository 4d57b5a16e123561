//! See DESIGN.md: the `store` module.
