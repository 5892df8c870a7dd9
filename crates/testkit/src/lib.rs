//! migration-testkit: what only tests, benches, examples and demos use; a dev-dependency of the
//! workspace, never a dependency of a shipped binary (a test reads `cargo metadata` to keep it so).
//!
//! - [`writes`]: the workers' writes (the seed's `createSpaceProgress`, `updateSpaceProgress`,
//!   `markSpaceCompleted`, `markSpaceFailed`), batch loading and table creation, as the
//!   [`WorkerWrites`] trait on the read path's table handle.
//! - [`sample`]: the generated sample migration and its loader.
//! - [`fleet`]: the simulated worker fleet that drives those writes (the `simulate` example).
//! - [`records`]: the one builder of `SpaceProgress` records for tests and benches.
//! - [`table_args`]: the examples' endpoint and table flags, and opening that table.
//! - [`command_lines`]: random command lines for the front ends' property tests.
//! - [`golden`]: whether golden tests rewrite their files (`UPDATE_GOLDEN`, refused under CI).

pub mod command_lines;
pub mod fleet;
pub mod golden;
pub mod records;
pub mod sample;
pub mod table_args;
pub mod writes;

pub use records::SpaceRecord;
pub use writes::{Created, NewSpace, WorkerWrites, WriteError};
