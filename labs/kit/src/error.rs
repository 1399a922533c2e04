//! The error the kit's recorders and writers return to a program: a
//! sentence a learner can act on. The readers say more precisely what went
//! wrong with an input: [`crate::profile::LoadError`] for a pprof file (so a
//! caller can tell a missing file from a malformed one), a message naming
//! the file for the other formats.

use std::fmt;

/// An error that names its input and says what would be valid.
///
/// `Debug` prints the bare message too, because a `main` that returns
/// `Result<(), Error>` prints its error with `Debug`, and a learner should
/// read a sentence there, not a struct.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
        }
    }

    /// An I/O error with what was being done when it happened.
    pub fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        Error::new(format!("{context}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
