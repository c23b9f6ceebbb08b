//! One error type for the library: a variant per stage, each naming what went wrong and where.

use std::path::PathBuf;

/// Where a piece of input came from: a file and, inside it, a line (JSONL) when known.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Origin {
    pub path: PathBuf,
    /// 1-based line number for line-oriented formats.
    pub line: Option<usize>,
}

impl Origin {
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Origin { path: path.into(), line: None }
    }

    pub fn line(path: impl Into<PathBuf>, line: usize) -> Self {
        Origin { path: path.into(), line: Some(line) }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}", self.path.display(), line),
            None => write!(f, "{}", self.path.display()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{origin}: {message}")]
    Input { origin: Origin, message: String },

    /// The OS error is part of the message, not a chained source, so it is printed once.
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },

    #[error("invalid option: {0}")]
    Config(String),

    #[error("dictionary {origin}: {message}")]
    Dictionary { origin: Origin, message: String },

    #[error("{0}")]
    Font(String),

    #[error("writing {path}: {message}")]
    Write { path: PathBuf, message: String },

    #[error("{count} document(s) were skipped and --strict is set; first: {first}")]
    Strict { count: usize, first: String },

    /// A sharded run's workers did not answer, or answered what does not decode.
    #[error("{0}")]
    Shards(String),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), error: source }
    }

    pub fn input(origin: Origin, message: impl Into<String>) -> Self {
        Error::Input { origin, message: message.into() }
    }

    pub fn write(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Error::Write { path: path.into(), message: message.to_string() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
