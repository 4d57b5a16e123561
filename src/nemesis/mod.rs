//! See DESIGN.md: the `nemesis` module.
