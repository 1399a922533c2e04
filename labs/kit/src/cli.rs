//! The flags every program built on the kit shares, as clap argument
//! groups: flatten them into a program's own `#[derive(Parser)]` struct.
//!
//! Defaults that depend on the program (which directory, which port) are
//! the program's to choose, so both flags are optional here.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::TypedValueParser;
use clap::error::ErrorKind;

/// `--out DIR`: where a run writes its profiles.
#[derive(clap::Args, Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Where to write the profiles (created if missing)
    #[arg(long, value_name = "DIR", value_parser = DirName)]
    pub out: Option<PathBuf>,
}

/// A directory name that is not empty and is valid UTF-8. The kit prints
/// and reports paths as text; a name that is not UTF-8 would be printed
/// as another name than the one written to, so it is refused, named.
#[derive(Clone, Copy, Debug)]
struct DirName;

impl TypedValueParser for DirName {
    type Value = PathBuf;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<PathBuf, clap::Error> {
        let flag = arg.map_or_else(|| "--out".to_string(), |a| format!("--{}", a.get_id()));
        let refuse = |why: String| Err(cmd.clone().error(ErrorKind::ValueValidation, why));
        match value.to_str() {
            None => refuse(format!(
                "{flag} {:?}: the name is not valid UTF-8; give a directory whose name is",
                value
            )),
            Some("") => refuse(format!("{flag}: the directory name is empty; give one")),
            Some(name) => Ok(PathBuf::from(name)),
        }
    }
}

/// What to say when a service is told to listen on `addr`: a warning when
/// other machines can reach it (any address but loopback, `0.0.0.0`
/// above all), since whoever reaches a profiling service can read its
/// profiles and make it profile itself. `None` for loopback.
pub fn exposure_warning(addr: SocketAddr) -> Option<String> {
    (!addr.ip().is_loopback()).then(|| {
        format!(
            "warning: --addr {addr} is reachable from other machines, and so are this \
             service's profiling endpoints: anyone who reaches them can read its profiles \
             and keep it busy profiling itself. Use 127.0.0.1 unless you mean it."
        )
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        output: Output,
    }

    #[test]
    fn an_out_that_is_not_utf8_is_refused_by_name() {
        use std::os::unix::ffi::OsStrExt;
        let bad = OsStr::from_bytes(b"a\xffb");
        let err = Cli::try_parse_from([OsStr::new("x"), OsStr::new("--out"), bad]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(text.contains("--out") && text.contains("UTF-8"), "{text}");
        let err = Cli::try_parse_from(["x", "--out="])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--out"), "{err}");
        let ok = Cli::try_parse_from(["x", "--out", "d/é"]).unwrap();
        assert_eq!(ok.output.out, Some(PathBuf::from("d/é")));
    }

    #[test]
    fn only_loopback_goes_without_a_warning() {
        for quiet in ["127.0.0.1:0", "[::1]:80"] {
            assert_eq!(exposure_warning(quiet.parse().unwrap()), None, "{quiet}");
        }
        for loud in ["0.0.0.0:8089", "[::]:80", "192.0.2.1:80"] {
            let w = exposure_warning(loud.parse().unwrap()).unwrap();
            assert!(w.contains(loud) && w.contains("profil"), "{w}");
        }
    }
}
