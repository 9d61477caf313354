//! [`RunError`]: why a plan file could not be run. Every stage's error is wrapped as it is;
//! the run's own checks name the file and line (or the series) and say what to do.

/// Why a plan file could not be run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The plan file is invalid.
    #[error(transparent)]
    Scenario(#[from] crate::scenario::ScenarioError),
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The bill could not be read.
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    /// The rate card or inventory is invalid.
    #[error(transparent)]
    Pricing(#[from] crate::pricing::PricingError),
    /// An events file is invalid.
    #[error(transparent)]
    EventFile(#[from] crate::forecast::events::EventError),
    /// Events could not be applied.
    #[error("{0}")]
    Events(String),
    /// A value of the plan file that only the run can check (an unknown offer, a date).
    #[error("{file}: line {line}: {message}")]
    Input {
        /// The file.
        file: String,
        /// 1-based line (0: the file as a whole).
        line: usize,
        /// What is wrong and what to do.
        message: String,
    },
    /// The data does not support the run (no usage, `as_of` outside the data).
    #[error("{0}")]
    Data(String),
    /// A series could not be forecast.
    #[error("forecasting {series}: {message}")]
    Forecast {
        /// The series.
        series: String,
        /// Why.
        message: String,
    },
    /// Planning failed.
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    /// An amount overflowed.
    #[error(transparent)]
    Money(#[from] crate::money::MoneyError),
}

impl RunError {
    /// Bad input (the plan file, its inputs or the data) rather than a failure of capplan.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, RunError::Money(_))
    }
}

impl From<crate::plan::demand::EventsError> for RunError {
    fn from(e: crate::plan::demand::EventsError) -> Self {
        RunError::Events(e.to_string())
    }
}
