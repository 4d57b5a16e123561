//! Small helpers shared by several layers (models and checkers, targets and
//! network back ends), kept here so that lower layers never import from higher ones.

pub mod hash;
pub mod ports;
pub mod text;
