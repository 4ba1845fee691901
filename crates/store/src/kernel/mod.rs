//! The kernel's ports: organizations, audit log, job queue.

mod audit;
pub(crate) mod jobs;
mod organizations;
