//! What people and CI read: `results.json`, `report.html`, `junit.xml`.

pub mod results;

pub use results::RunResults;
