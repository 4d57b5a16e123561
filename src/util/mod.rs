//! Small helpers shared by several layers (models and checkers, targets and
//! network back ends), kept here so that lower layers never import from higher ones.

pub mod clock;
pub mod hash;
mod invalid;
pub mod ports;
pub mod runtag;
pub mod secs;
pub mod text;

pub use invalid::Invalid;
pub use secs::Secs;
