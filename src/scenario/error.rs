//! Errors of the plan file: each carries a [`Diagnostic`] naming the file, the line and
//! column, the key, what was expected and what to do.

use crate::diagnostic::Diagnostic;

/// A problem in a plan file. All variants are bad input (exit code 2 in the CLI).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScenarioError {
    /// A key the schema does not know (misspelt or misplaced); the fix names the closest
    /// valid key when one is close.
    #[error("{0}")]
    UnknownKey(Box<Diagnostic>),
    /// The text is not TOML, or a value has the wrong TOML type for its key.
    #[error("{0}")]
    Syntax(Box<Diagnostic>),
    /// A value of the right TOML type that is not acceptable (out of range, bad date, ...),
    /// or a key that is missing or does not apply.
    #[error("{0}")]
    Invalid(Box<Diagnostic>),
}

impl ScenarioError {
    /// The details: file, line, column, key, problem, expected, fix.
    pub fn diagnostic(&self) -> &Diagnostic {
        match self {
            ScenarioError::UnknownKey(d) | ScenarioError::Syntax(d) | ScenarioError::Invalid(d) => {
                d
            }
        }
    }

    /// The source name the error refers to.
    pub fn file(&self) -> &str {
        &self.diagnostic().file
    }

    /// The 1-based line the error refers to.
    pub fn line(&self) -> usize {
        self.diagnostic().line()
    }

    /// The key the error refers to (may be empty for a syntax error).
    pub fn key(&self) -> &str {
        &self.diagnostic().key
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Place;

    #[test]
    fn display_names_file_line_key_expected_and_fix() {
        let e = ScenarioError::Invalid(Box::new(Diagnostic {
            file: "plan.toml".into(),
            place: Place::Text { line: 4, column: 1 },
            key: "quarters".into(),
            problem: "is 0".into(),
            expected: "a whole number from 1 to 40".into(),
            fix: "remove the key for the default (4)".into(),
        }));
        assert_eq!(
            e.to_string(),
            "plan.toml: line 4, column 1: `quarters`: is 0; expected a whole number from 1 to 40. Fix: remove the key for the default (4)"
        );
        assert_eq!((e.file(), e.line(), e.key()), ("plan.toml", 4, "quarters"));
    }
}
