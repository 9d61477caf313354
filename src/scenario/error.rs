//! Errors of the plan file: each names the file, the line and column, the key, what was
//! expected and what to do.

use std::fmt;

/// One problem in a plan file: where, which key, what is wrong, what was expected, what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Source name given by the caller (usually the path).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (characters).
    pub column: usize,
    /// Dotted key path, e.g. `scenario.strategy[2].coverage_percent`; for an unknown key the
    /// key as written; empty when a syntax error is not on a `key = value` line.
    pub key: String,
    /// What is wrong.
    pub problem: String,
    /// What a valid value looks like (for an unknown key: the valid keys there).
    pub expected: String,
    /// What to do.
    pub fix: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: line {}, column {}: ",
            self.file, self.line, self.column
        )?;
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.problem)?;
        if !self.expected.is_empty() {
            write!(f, "; expected {}", self.expected)?;
        }
        if !self.fix.is_empty() {
            write!(f, ". Fix: {}", self.fix)?;
        }
        Ok(())
    }
}

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
        self.diagnostic().line
    }

    /// The key the error refers to (may be empty for a syntax error).
    pub fn key(&self) -> &str {
        &self.diagnostic().key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_line_key_expected_and_fix() {
        let e = ScenarioError::Invalid(Box::new(Diagnostic {
            file: "plan.toml".into(),
            line: 4,
            column: 1,
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
