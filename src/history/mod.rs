//! Histories: the contract between every part of faultline.
//!
//! A history is a sequence of [`Op`]s in the order they happened (by `time`,
//! then by index). Readers and writers speak the JSON Lines format of ARCHITECTURE.md;
//! importers translate Jepsen/Knossos EDN and Porcupine logs into it.

pub mod import;
mod in_memory;
pub mod jsonl;
pub mod node_event;
mod op;
pub mod pairing;

pub use import::{read_path, read_str, Format, ImportError};
pub use in_memory::History;
pub use node_event::{NodeEvent, NodeEvents};
pub use op::{Op, OpType, Process};
pub use pairing::{pair, Pairing, PairingError};
