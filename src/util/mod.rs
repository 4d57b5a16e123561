//! Small helpers shared by several layers (models and checkers), kept here
//! so that lower layers (`model`) never import from higher ones (`checker`).

pub mod hash;
