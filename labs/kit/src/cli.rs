//! The flags every program built on the kit shares, as clap argument
//! groups: flatten them into a program's own `#[derive(Parser)]` struct.
//!
//! Defaults that depend on the program (which directory, which port) are
//! the program's to choose, so both flags are optional here.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::{NonEmptyStringValueParser, TypedValueParser};

/// `--out DIR`: where a run writes its profiles.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Where to write the profiles (created if missing)
    #[arg(long, value_name = "DIR", value_parser = NonEmptyStringValueParser::new().map(PathBuf::from))]
    pub out: Option<PathBuf>,
}

/// `--addr HOST:PORT`: where a service listens, or where a client finds it.
/// The host must be numeric (`127.0.0.1`, not `localhost`), so nothing is
/// resolved behind the learner's back.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct Listen {
    /// HOST:PORT with a numeric host, such as 127.0.0.1:8089 (port 0: any free port)
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<SocketAddr>,
}
