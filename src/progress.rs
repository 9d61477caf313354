//! Progress of long runs: the library reports stages and steps; the binary draws them.

/// Progress of a long run (the CLI shows a bar on stderr when it is a terminal).
pub trait Progress: Sync {
    /// A stage with `total` steps starts.
    fn start(&self, what: &str, total: usize);
    /// One step of the current stage is done.
    fn inc(&self);
    /// The current stage is over (a bar is cleared); the next [`Progress::start`] begins a new
    /// one. Does nothing by default.
    fn finish(&self) {}
}

/// No progress output.
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: &str, _: usize) {}
    fn inc(&self) {}
}
