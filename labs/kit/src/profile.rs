//! Reading a pprof profile back: gzip or raw protobuf in, plain stacks out.
//!
//! Everything that reads a profile (the summary, the flame graph, the
//! self-checks) goes through [`load`], so a broken file is diagnosed in one
//! place and always with the same words.

use std::collections::HashMap;
use std::fmt;
use std::io::{Read, Write};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use crate::proto as protos;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use prost::Message;

use crate::own::Own;
use crate::{Error, atomic, flame};

/// A decoded profile, with stacks resolved to function names.
#[derive(Debug, Clone)]
pub struct Profile {
    /// `(type, unit)` of each value in a sample, e.g. `("samples", "count")`.
    pub sample_types: Vec<(String, String)>,
    pub samples: Vec<Sample>,
    /// Whose frames are the program's own: named by the profile's first
    /// mapping (the executable), else guessed (see [`Own`]). A reader may
    /// replace it with the crates a user names.
    pub own: Own,
    /// How long the profile ran (pprof's `duration_nanos`; 0 when the file
    /// does not say): what a rate per second of run divides by.
    pub duration_ns: i64,
    /// The sample type a reader shows unless told otherwise (pprof's
    /// `default_sample_type`: Go's `allocs` sets `alloc_space`).
    pub default_sample_type: Option<String>,
}

/// One stack and its values.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Function names, **root first**, with hashes and the profiler's own
    /// frames removed.
    pub stack: Vec<String>,
    /// One value per sample type.
    pub values: Vec<i64>,
    /// The `thread` label pprof-rs attaches (a name, or an id when the
    /// thread had none).
    pub thread: Option<String>,
    /// Every string label, `thread` included, in the file's order: the
    /// goroutine profile's `state` and `kind`, say.
    pub labels: Vec<(String, String)>,
}

impl Sample {
    /// The value of the string label `key`, if the sample has one.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl Profile {
    /// The index of the sample type called `ty`.
    pub fn value_index(&self, ty: &str) -> Option<usize> {
        self.sample_types.iter().position(|(t, _)| t == ty)
    }

    /// The sum of value `index` over all samples (0 for a value the
    /// profile does not have). A profile read by [`load`] never overflows
    /// it; one built by hand stops at `i64::MAX`.
    /// The value a reader shows by default, as pprof picks it: the
    /// `default_sample_type` if the profile names one, else the last type.
    pub fn default_value_index(&self) -> usize {
        self.default_sample_type
            .as_deref()
            .and_then(|ty| self.value_index(ty))
            .unwrap_or(self.sample_types.len().saturating_sub(1))
    }

    pub fn total(&self, index: usize) -> i64 {
        self.samples
            .iter()
            .filter_map(|s| s.values.get(index))
            .fold(0i64, |sum, v| sum.saturating_add(*v))
    }
}

/// A profile made in this process (CPU, block or mutex), ready to be
/// written: the protobuf, and the same data as plain stacks.
pub struct Recorded {
    proto: protos::Profile,
    profile: Profile,
    /// `cpu`, `block` or `mutex`: names the files it is saved as.
    name: &'static str,
    /// Which sample value the flame graph is weighted by.
    weight: usize,
}

/// Gives every location of a profile made in this process one mapping:
/// this executable, flagged as symbolised already (functions, files, lines,
/// inlined frames). Without a mapping, `go tool pprof BINARY PROFILE` —
/// passing the binary is a Go user's habit — symbolises each location
/// again from its address, which is 0 in our profiles, and every frame
/// becomes whatever function sits at address 0 of the binary.
fn add_symbolised_mapping(proto: &mut protos::Profile) {
    if !proto.mapping.is_empty() {
        return;
    }
    let file = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let filename = match proto.string_table.iter().position(|s| *s == file) {
        Some(i) => i as i64,
        None => {
            proto.string_table.push(file);
            proto.string_table.len() as i64 - 1
        }
    };
    proto.mapping.push(protos::Mapping {
        id: 1,
        filename,
        has_functions: true,
        has_filenames: true,
        has_line_numbers: true,
        has_inline_frames: true,
        ..Default::default()
    });
    for location in &mut proto.location {
        location.mapping_id = 1;
    }
}

/// Where [`Recorded::save`] put its files.
#[derive(Debug, Clone)]
pub struct Saved {
    pub pprof: PathBuf,
    pub flame_graph: PathBuf,
}

impl Recorded {
    pub(crate) fn new(
        mut proto: protos::Profile,
        name: &'static str,
        weight: usize,
    ) -> Result<Recorded, String> {
        add_symbolised_mapping(&mut proto);
        let profile = from_proto(&proto)?;
        Ok(Recorded {
            proto,
            profile,
            name,
            weight,
        })
    }

    /// The profile as plain stacks.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The sum of the first sample value: samples for a CPU profile,
    /// contentions for a block or mutex profile.
    pub fn sample_count(&self) -> i64 {
        self.profile.total(0)
    }

    // ANCHOR: write_pprof
    /// Encodes the profile as gzipped pprof protobuf (what Go writes, and
    /// what `go tool pprof` reads) into `out`. The gzip stream is finished
    /// here, but `out` itself is **not** flushed: that is the caller's job.
    pub fn write_pprof<W: Write>(&self, out: W) -> std::io::Result<()> {
        let mut gz = GzEncoder::new(out, Compression::default());
        gz.write_all(&self.proto.encode_to_vec())?;
        gz.finish()?;
        Ok(())
    }
    // ANCHOR_END: write_pprof

    /// What this cumulative profile gained since `before`, an earlier one
    /// of the same kind, `elapsed` later: each stack's values minus what it
    /// had then; stacks that did not change are left out. Block and mutex
    /// counts only grow, so a value never goes below zero.
    pub fn since(
        &self,
        before: &Recorded,
        elapsed: std::time::Duration,
    ) -> Result<Recorded, String> {
        fn key(s: &Sample) -> (&[String], Option<&str>) {
            (&s.stack, s.thread.as_deref())
        }
        let mut earlier: HashMap<(&[String], Option<&str>), Vec<i64>> = HashMap::new();
        for s in &before.profile.samples {
            let total = earlier
                .entry(key(s))
                .or_insert_with(|| vec![0; s.values.len()]);
            for (t, v) in total.iter_mut().zip(&s.values) {
                *t += v;
            }
        }
        if self.proto.sample.len() != self.profile.samples.len() {
            return Err("the profile's samples and its stacks do not match".into());
        }
        let mut proto = self.proto.clone();
        let samples = std::mem::take(&mut proto.sample);
        for (mut raw, s) in samples.into_iter().zip(&self.profile.samples) {
            if let Some(old) = earlier.get_mut(&key(s)) {
                for (v, o) in raw.value.iter_mut().zip(old.iter_mut()) {
                    let gone = (*o).min(*v);
                    *v -= gone;
                    *o -= gone;
                }
            }
            if raw.value.iter().any(|v| *v != 0) {
                proto.sample.push(raw);
            }
        }
        proto.duration_nanos = elapsed.as_nanos().try_into().unwrap_or(i64::MAX);
        Recorded::new(proto, self.name, self.weight)
    }

    /// Saves `<name>.pb.gz` and `<name>.svg` into `dir`, atomically and
    /// together: if either cannot be written, both old files stay.
    pub fn save(&self, dir: &Path) -> Result<Saved, Error> {
        let mut batch = atomic::Batch::new();
        let saved = self.stage(&mut batch, dir)?;
        batch.commit()?;
        Ok(saved)
    }

    /// Writes both files under temporary names, to be renamed with the rest
    /// of `batch`.
    fn stage(&self, batch: &mut atomic::Batch, dir: &Path) -> Result<Saved, Error> {
        let saved = Saved {
            pprof: dir.join(format!("{}.pb.gz", self.name)),
            flame_graph: dir.join(format!("{}.svg", self.name)),
        };
        batch.write_with(&saved.pprof, |out| self.write_pprof(out))?;
        self.stage_flame_graph(batch, &saved.flame_graph)?;
        Ok(saved)
    }

    /// Saves only the flame graph, atomically.
    pub fn save_flame_graph(&self, path: &Path) -> Result<(), Error> {
        atomic::write_bytes(path, &self.flame_graph(path)?)
    }

    /// Stages the flame graph as `path` in `batch`, to be renamed into
    /// place with the batch's other files.
    pub fn stage_flame_graph(&self, batch: &mut atomic::Batch, path: &Path) -> Result<(), Error> {
        batch.write_bytes(path, &self.flame_graph(path)?)
    }

    fn flame_graph(&self, path: &Path) -> Result<Vec<u8>, Error> {
        let (ty, unit) = &self.profile.sample_types[self.weight];
        let title = format!("{} profile ({ty}, {unit})", self.name);
        flame::render(&self.profile, self.weight, &title, path)
    }
}

/// Saves the profiles of one run (a CPU and a block profile, say) into
/// `dir`, each as `<name>.pb.gz` and `<name>.svg`: every file is replaced,
/// or, if one cannot be written, none is.
pub fn save_all(dir: &Path, profiles: &[&Recorded]) -> Result<Vec<Saved>, Error> {
    let mut batch = atomic::Batch::new();
    let saved = profiles
        .iter()
        .map(|p| p.stage(&mut batch, dir))
        .collect::<Result<Vec<_>, _>>()?;
    batch.commit()?;
    Ok(saved)
}

/// Why a file is not a readable profile. Each variant's text is a symptom a
/// self-check can print as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    Missing(PathBuf),
    Unreadable(PathBuf, String),
    Empty(PathBuf),
    Truncated(PathBuf, usize),
    NotPprof(PathBuf, String),
    /// Larger than [`MAX_BYTES`] as a file, or once inflated.
    TooLarge(PathBuf, &'static str),
}

/// The most labkit reads of one profile, as a file and once its gzip
/// stream is inflated: far above any real profile (the workbook's are tens
/// of KiB; a busy service's CPU profile a few MiB), and low enough that a
/// crafted file or `/dev/zero` cannot take the machine's memory.
pub const MAX_BYTES: u64 = 256 * 1024 * 1024;

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Missing(p) => write!(f, "{} does not exist", p.display()),
            LoadError::Unreadable(p, e) => write!(f, "{} cannot be read: {e}", p.display()),
            LoadError::Empty(p) => write!(f, "{} is 0 bytes", p.display()),
            LoadError::Truncated(p, n) => write!(
                f,
                "{} is truncated: its gzip stream stops after {n} bytes",
                p.display()
            ),
            LoadError::NotPprof(p, e) => write!(
                f,
                "{} is not a pprof profile (expected gzipped or raw pprof protobuf): {e}",
                p.display()
            ),
            LoadError::TooLarge(p, what) => write!(
                f,
                "{} {what} more than {} MiB, the most labkit reads of one profile \
                 (a real profile is a few MiB at most)",
                p.display(),
                MAX_BYTES >> 20
            ),
        }
    }
}

impl std::error::Error for LoadError {}

/// Reads and decodes the pprof file at `path`.
pub fn load(path: &Path) -> Result<Profile, LoadError> {
    decode(path, &read(path)?)
}

/// Reads the file at `path` whole, once, and at most [`MAX_BYTES`] of it.
pub fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    read_at_most(path, MAX_BYTES)
}

fn read_at_most(path: &Path, limit: u64) -> Result<Vec<u8>, LoadError> {
    let unreadable = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => LoadError::Missing(path.to_path_buf()),
        _ => LoadError::Unreadable(path.to_path_buf(), e.to_string()),
    };
    // Told apart by `stat`, before anything is opened: opening a named
    // pipe for reading waits for a writer, for ever if none comes.
    let kind = std::fs::metadata(path).map_err(unreadable)?.file_type();
    if kind.is_fifo() {
        return read_pipe(path, limit);
    }
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "a device"
        };
        return Err(LoadError::Unreadable(
            path.to_path_buf(),
            format!("it is {what}, not a file (labkit reads profile files, and named pipes)"),
        ));
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let too_large = || LoadError::TooLarge(path.to_path_buf(), "is");
    // A regular file says how large it is; a device or a pipe does not, so
    // the read itself stops one byte past the limit.
    if file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() > limit)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// How long a named pipe may go without a writer before labkit gives up.
pub const PIPE_WRITER_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads a named pipe without ever waiting for ever: opened without
/// blocking, it is read as data comes; no writer within
/// [`PIPE_WRITER_WAIT`] is an error that says so.
fn read_pipe(path: &Path, limit: u64) -> Result<Vec<u8>, LoadError> {
    use std::os::unix::fs::OpenOptionsExt;
    let unreadable = |e: std::io::Error| LoadError::Unreadable(path.to_path_buf(), e.to_string());
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(unreadable)?;
    let started = std::time::Instant::now();
    let (mut bytes, mut chunk) = (Vec::new(), vec![0u8; 64 * 1024]);
    let mut writer_seen = false;
    loop {
        match file.read(&mut chunk) {
            // No writer: none yet (wait a little), or the writer is done.
            Ok(0) if !writer_seen && bytes.is_empty() => {
                if started.elapsed() > PIPE_WRITER_WAIT {
                    return Err(LoadError::Unreadable(
                        path.to_path_buf(),
                        format!(
                            "it is a named pipe and nothing wrote to it within {:?}",
                            PIPE_WRITER_WAIT
                        ),
                    ));
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Ok(0) => return Ok(bytes),
            Ok(n) => {
                writer_seen = true;
                bytes.extend_from_slice(&chunk[..n]);
                if bytes.len() as u64 > limit {
                    return Err(LoadError::TooLarge(path.to_path_buf(), "is"));
                }
            }
            // A writer is there and has not written yet.
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                writer_seen = true;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(unreadable(e)),
        }
    }
}

/// Decodes pprof bytes; `path` only names the input in errors.
pub fn decode(path: &Path, bytes: &[u8]) -> Result<Profile, LoadError> {
    decode_at_most(path, bytes, MAX_BYTES)
}

fn decode_at_most(path: &Path, bytes: &[u8], limit: u64) -> Result<Profile, LoadError> {
    if bytes.is_empty() {
        return Err(LoadError::Empty(path.to_path_buf()));
    }
    let raw;
    let proto_bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        // A few MiB of gzip can inflate to gigabytes: stop past the limit.
        if let Err(e) = GzDecoder::new(bytes).take(limit + 1).read_to_end(&mut out) {
            return Err(match e.kind() {
                std::io::ErrorKind::UnexpectedEof => {
                    LoadError::Truncated(path.to_path_buf(), bytes.len())
                }
                _ => LoadError::NotPprof(path.to_path_buf(), format!("corrupt gzip data: {e}")),
            });
        }
        if out.len() as u64 > limit {
            return Err(LoadError::TooLarge(path.to_path_buf(), "inflates to"));
        }
        raw = out;
        &raw[..]
    } else {
        bytes
    };
    let proto = protos::Profile::decode(proto_bytes)
        .map_err(|e| LoadError::NotPprof(path.to_path_buf(), e.to_string()))?;
    from_proto(&proto).map_err(|e| LoadError::NotPprof(path.to_path_buf(), e))
}

/// Resolves a decoded protobuf into names. Also used on a profile fresh from
/// pprof-rs, before it is ever written.
pub fn from_proto(p: &protos::Profile) -> Result<Profile, String> {
    let string = |i: i64| -> Result<String, String> {
        p.string_table
            .get(i as usize)
            .cloned()
            .ok_or_else(|| format!("string index {i} is outside the string table"))
    };
    if p.sample_type.is_empty() {
        return Err("it has no sample types".into());
    }
    let sample_types = p
        .sample_type
        .iter()
        .map(|vt| Ok((string(vt.ty)?, string(vt.unit)?)))
        .collect::<Result<Vec<_>, String>>()?;
    let functions: HashMap<u64, String> = p
        .function
        .iter()
        .map(|f| Ok((f.id, string(f.name)?)))
        .collect::<Result<_, String>>()?;
    // A location holds one line per inlined function; the last is the
    // outermost caller.
    let mut locations: HashMap<u64, Vec<String>> = HashMap::new();
    for loc in &p.location {
        let mut names = Vec::new();
        for line in &loc.line {
            let name = functions
                .get(&line.function_id)
                .ok_or_else(|| format!("location {} names a missing function", loc.id))?;
            names.push(name.clone());
        }
        locations.insert(loc.id, names);
    }
    let thread_key = p.string_table.iter().position(|s| s == "thread");
    // Every total a summary takes must fit: no value below zero (that is a
    // difference of two profiles, not a profile), no sum past i64::MAX.
    let mut totals = vec![0i64; sample_types.len()];
    let mut samples = Vec::with_capacity(p.sample.len());
    for s in &p.sample {
        if s.value.len() != sample_types.len() {
            return Err(format!(
                "a sample has {} values for {} sample types",
                s.value.len(),
                sample_types.len()
            ));
        }
        for ((total, v), (ty, _)) in totals.iter_mut().zip(&s.value).zip(&sample_types) {
            if *v < 0 {
                return Err(format!(
                    "a sample has a negative {ty} value ({v}); labkit reads profiles, \
                     not differences of two"
                ));
            }
            *total = total.checked_add(*v).ok_or_else(|| {
                format!("its {ty} values add up to more than a 64-bit integer holds")
            })?;
        }
        let mut leaf_first = Vec::new();
        for id in &s.location_id {
            let names = locations
                .get(id)
                .ok_or_else(|| format!("a sample names missing location {id}"))?;
            leaf_first.extend(names.iter().map(|n| clean_name(n)));
        }
        let thread = thread_key.and_then(|k| {
            s.label
                .iter()
                .find(|l| l.key == k as i64)
                .and_then(|l| p.string_table.get(l.str as usize).cloned())
        });
        // A label whose key or value is not in the string table is left
        // out, as pprof leaves it: the stack and values still count.
        let labels = s
            .label
            .iter()
            .filter(|l| l.str != 0)
            .filter_map(|l| {
                let key = p.string_table.get(usize::try_from(l.key).ok()?)?;
                let value = p.string_table.get(usize::try_from(l.str).ok()?)?;
                Some((key.clone(), value.clone()))
            })
            .collect();
        samples.push(Sample {
            stack: root_first_without_profiler(leaf_first),
            values: s.value.clone(),
            thread,
            labels,
        });
    }
    let program = p
        .mapping
        .first()
        .and_then(|m| p.string_table.get(m.filename as usize))
        .filter(|f| !f.is_empty());
    let names: Vec<String> = functions.values().map(|f| clean_name(f)).collect();
    let own = Own::of(
        program.map(String::as_str),
        names.iter().map(String::as_str),
    );
    Ok(Profile {
        sample_types,
        samples,
        own,
        duration_ns: p.duration_nanos.max(0),
        default_sample_type: Some(string(p.default_sample_type)?).filter(|t| !t.is_empty()),
    })
}

/// Strips the `::h0123456789abcdef` hash rustc appends to symbol names.
pub fn clean_name(name: &str) -> String {
    match name.rsplit_once("::h") {
        Some((head, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            head.to_string()
        }
        _ => name.to_string(),
    }
}

/// Frames that belong to the profiler taking the sample, not the program:
/// the unwinder, pprof-rs's signal handler and the kernel's signal
/// trampoline. They sit at the leaf end of every CPU sample.
pub(crate) fn is_profiler_frame(name: &str) -> bool {
    name.starts_with("backtrace::")
        || name.starts_with("pprof::")
        || name.starts_with("<pprof::")
        || name.contains("perf_signal_handler")
        || name == "__restore_rt"
}

fn root_first_without_profiler(mut leaf_first: Vec<String>) -> Vec<String> {
    if let Some(last) = leaf_first.iter().rposition(|n| is_profiler_frame(n)) {
        leaf_first.drain(..=last);
    }
    leaf_first.reverse();
    leaf_first
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stripped_and_other_names_kept() {
        assert_eq!(
            clean_name("lab_083::work::h0123456789abcdef"),
            "lab_083::work"
        );
        assert_eq!(clean_name("lab_083::hash"), "lab_083::hash");
        assert_eq!(clean_name("a::hxyz"), "a::hxyz");
    }

    #[test]
    fn profiler_frames_at_the_leaf_are_dropped() {
        let stack = root_first_without_profiler(vec![
            "backtrace::trace".into(),
            "pprof::profiler::perf_signal_handler".into(),
            "__restore_rt".into(),
            "lab::leaf".into(),
            "lab::root".into(),
        ]);
        assert_eq!(stack, vec!["lab::root", "lab::leaf"]);
    }

    /// A one-sample profile called `name`.
    fn recorded(name: &'static str) -> Recorded {
        let proto = protos::Profile {
            sample_type: vec![protos::ValueType { ty: 1, unit: 2 }],
            sample: vec![protos::Sample {
                location_id: vec![1],
                value: vec![5],
                label: vec![],
            }],
            location: vec![protos::Location {
                id: 1,
                line: vec![protos::Line {
                    function_id: 1,
                    line: 0,
                }],
                ..Default::default()
            }],
            function: vec![protos::Function {
                id: 1,
                name: 3,
                ..Default::default()
            }],
            string_table: ["", "samples", "count", "lab_1::main"]
                .map(String::from)
                .to_vec(),
            ..Default::default()
        };
        Recorded::new(proto, name, 0).unwrap()
    }

    #[test]
    fn the_profiles_of_a_run_are_replaced_together_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let (cpu, block) = (recorded("cpu"), recorded("block"));
        let files = ["block.pb.gz", "block.svg", "cpu.pb.gz", "cpu.svg"];
        for f in files {
            std::fs::write(dir.path().join(f), b"old").unwrap();
        }
        // block.svg cannot be replaced (a directory stands there now): the
        // CPU profile's files must not be either.
        std::fs::remove_file(dir.path().join("block.svg")).unwrap();
        std::fs::create_dir(dir.path().join("block.svg")).unwrap();
        std::fs::write(dir.path().join("block.svg/x"), b"").unwrap();
        let err = save_all(dir.path(), &[&cpu, &block]).unwrap_err();
        assert!(err.to_string().contains("block.svg"), "{err}");
        for f in ["block.pb.gz", "cpu.pb.gz", "cpu.svg"] {
            assert_eq!(std::fs::read(dir.path().join(f)).unwrap(), b"old", "{f}");
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4);
        // Once it can, all four are replaced.
        std::fs::remove_dir_all(dir.path().join("block.svg")).unwrap();
        save_all(dir.path(), &[&cpu, &block]).unwrap();
        for f in files {
            let bytes = std::fs::read(dir.path().join(f)).unwrap();
            assert_ne!(bytes, b"old", "{f}");
        }
        assert_eq!(load(&dir.path().join("cpu.pb.gz")).unwrap().total(0), 5);
    }

    #[test]
    fn what_is_read_and_inflated_is_capped_and_the_cap_is_said() {
        let p = Path::new("bomb.pb.gz");
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&vec![0u8; 1 << 20]).unwrap();
        let bomb = gz.finish().unwrap();
        assert!(bomb.len() < 4096, "{} bytes", bomb.len());
        let err = decode_at_most(p, &bomb, 1000).unwrap_err();
        assert_eq!(err, LoadError::TooLarge(p.into(), "inflates to"));
        let text = err.to_string();
        assert!(
            text.starts_with("bomb.pb.gz inflates to more than 256 MiB, the most labkit reads"),
            "{text}"
        );
        // A device is refused before it is opened.
        let err = read_at_most(Path::new("/dev/zero"), 1000).unwrap_err();
        assert!(
            err.to_string().contains("it is a device, not a file"),
            "{err}"
        );
        // A regular file is refused by its size, before it is read.
        let file = tempfile::NamedTempFile::new().unwrap();
        file.as_file().set_len(1001).unwrap();
        assert!(matches!(
            read_at_most(file.path(), 1000),
            Err(LoadError::TooLarge(_, "is"))
        ));
        assert_eq!(read_at_most(file.path(), 1001).unwrap().len(), 1001);
    }

    #[test]
    fn empty_garbage_and_truncated_files_are_told_apart() {
        let p = Path::new("x.pb.gz");
        assert_eq!(decode(p, b"").unwrap_err(), LoadError::Empty(p.into()));
        assert!(matches!(
            decode(p, &[0x1f, 0x8b, 8, 0]),
            Err(LoadError::Truncated(_, 4))
        ));
        let err = decode(p, b"hello, I am text").unwrap_err();
        assert!(matches!(err, LoadError::NotPprof(..)), "{err}");
        assert!(err.to_string().contains("x.pb.gz"));
    }
}
