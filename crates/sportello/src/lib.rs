//! The `sportello` binary's library half: configuration, wiring of the adapters into a running
//! application, and the command line. `main.rs` only calls [`cli::main`].

pub mod app;
mod batch_send;
pub mod cli;
pub mod config;
pub mod node_fetch;
pub mod private_files;
mod pulls;
pub mod reconciler;
pub mod simulate;
mod statistics;
