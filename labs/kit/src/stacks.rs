//! From the return addresses a profiler collected to a pprof profile, the
//! way Go writes one: each address symbolised once, with the calls the
//! compiler inlined there and their lines; one location per address, in
//! the mapping (executable or library) it lies in; one function per name
//! and file, with its mangled name beside the readable one.
//!
//! Per-address locations are what make `go tool pprof -list` annotate
//! source lines and `-base` cancel two runs of one build: pprof keys a
//! location by its address minus its mapping's start, so two runs that
//! load the program at different addresses still spell every stack the
//! same way.
//!
//! The CPU sampler, the block and mutex profiles and the live heap share
//! this. Symbolising loads the program's debug information (tens of MB in
//! a debug build); [`release_symbols`] gives it back once a profile is
//! written, so a profiled service does not carry it between profiles.
//! What it found for each address stays in a small process-wide table
//! ([`symbols_at`]): a few hundred bytes an address, at most
//! [`MAX_NAMED`] addresses, so that the next profile of the same code
//! (a service dumped or profiled again) names its frames without loading
//! the debug information again.

use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, Mutex};

use crate::proto;

/// One symbol at an address: a function (maybe inlined there), its file
/// and line.
#[derive(Debug, Clone)]
pub(crate) struct Symbol {
    /// Demangled, without the hash: `lab_083::price`.
    pub name: String,
    /// As the linker knows it (mangled for Rust), for pprof's
    /// `system_name`. pprof "demangles" a function whose two names are the
    /// same, and takes any `<…>` in a readable Rust name for C++ template
    /// parameters: `<std::sys::thread::unix::Thread>::new::thread_start`
    /// became `::new::thread_start`.
    pub system_name: String,
    pub file: String,
    pub line: i64,
    /// 0 if unknown. (Only task traces print it, as tokio does.)
    #[cfg_attr(not(all(feature = "tasks", tokio_unstable)), allow(dead_code))]
    pub column: u32,
    /// The function's first instruction, 0 if unknown (Go's text dumps
    /// print an address as `function+offset`).
    pub entry: usize,
}

/// Decides how many symbols at the innermost end of a stack belong to the
/// profiler rather than the program. It gets every symbol's name,
/// innermost first (inlined calls count one each).
pub(crate) type Cut<'a> = &'a dyn Fn(&[&str]) -> usize;

/// Keeps every symbol.
pub(crate) fn keep_all(_: &[&str]) -> usize {
    0
}

/// How many symbols at the innermost end of `names` start with one of
/// `prefixes`: the profiler's or the dump's own frames, for a [`Cut`].
pub(crate) fn leading(names: &[&str], prefixes: &[&str]) -> usize {
    names
        .iter()
        .position(|n| !prefixes.iter().any(|p| n.starts_with(p)))
        .unwrap_or(names.len())
}

/// Hands back the debug information symbolising loaded (backtrace-rs keeps
/// it in a process-wide cache). Call it when a profile has been built.
pub(crate) fn release_symbols() {
    backtrace::clear_symbol_cache();
}

/// The most addresses [`symbols_at`] keeps; past it, the table starts
/// again empty (about 3 MB at most with this workspace's names).
pub(crate) const MAX_NAMED: usize = 8192;

/// Addresses named so far, across profiles. Code is not unloaded in the
/// programs this serves (no `dlclose`), so an address keeps its name.
static NAMED: Mutex<Option<HashMap<usize, Arc<[Symbol]>>>> = Mutex::new(None);

/// How many addresses are named in the table now.
#[cfg(test)]
pub(crate) fn named_count() -> usize {
    let named = NAMED.lock().unwrap_or_else(|e| e.into_inner());
    named.as_ref().map_or(0, HashMap::len)
}

/// The symbols at a return address, the inlined callee first and the
/// function it was inlined into last, from the table if the address was
/// named before. (backtrace-rs looks up the byte before the address: the
/// call, not the instruction after it. A profiler that holds the exact
/// address of an interrupted instruction passes that address plus one.)
pub(crate) fn symbols_at(ip: usize) -> Arc<[Symbol]> {
    let lock = || NAMED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(symbols) = lock().as_ref().and_then(|m| m.get(&ip)) {
        return symbols.clone();
    }
    // Named outside the lock: loading the debug information can take a
    // second, and other threads' known addresses need not wait for it.
    let symbols = name(ip);
    let mut named = lock();
    let table = named.get_or_insert_with(HashMap::new);
    if table.len() >= MAX_NAMED {
        *table = HashMap::new();
    }
    table.insert(ip, symbols.clone());
    symbols
}

fn name(ip: usize) -> Arc<[Symbol]> {
    let mut symbols = Vec::new();
    backtrace::resolve(ip as *mut c_void, |sym| {
        let system_name = sym
            .name()
            .map(|n| String::from_utf8_lossy(n.as_bytes()).into_owned());
        symbols.push(Symbol {
            name: sym
                .name()
                .map_or_else(|| format!("{ip:#x}"), |n| format!("{n:#}")),
            system_name: system_name.unwrap_or_default(),
            file: sym
                .filename()
                .map_or_else(String::new, |f| f.display().to_string()),
            line: sym.lineno().map_or(0, i64::from),
            column: sym.colno().unwrap_or(0),
            entry: sym.addr().map_or(0, |a| a as usize),
        });
    });
    if symbols.is_empty() {
        symbols.push(Symbol {
            name: format!("{ip:#x}"),
            system_name: String::new(),
            file: String::new(),
            line: 0,
            column: 0,
            entry: 0,
        });
    }
    symbols.into()
}

/// A profile under construction: strings, functions, locations, mappings
/// and the samples that refer to them.
pub(crate) struct Builder {
    strings: Vec<String>,
    string_ids: HashMap<String, i64>,
    functions: Vec<proto::Function>,
    function_ids: HashMap<(String, String), u64>,
    locations: Vec<proto::Location>,
    /// (address, inlined symbols skipped at the innermost end) → location.
    location_ids: HashMap<(usize, usize), u64>,
    mappings: Vec<Mapping>,
    pub samples: Vec<proto::Sample>,
}

/// An executable mapping of the process, as `/proc/self/maps` lists it.
#[derive(Debug, Clone, PartialEq)]
struct Mapping {
    start: u64,
    limit: u64,
    offset: u64,
    file: String,
}

impl Builder {
    /// A builder that knows the process's executable mappings now.
    pub fn new() -> Builder {
        let mut b = Builder {
            strings: Vec::new(),
            string_ids: HashMap::new(),
            functions: Vec::new(),
            function_ids: HashMap::new(),
            locations: Vec::new(),
            location_ids: HashMap::new(),
            mappings: own_mappings(),
            samples: Vec::new(),
        };
        b.string("");
        b
    }

    pub fn string(&mut self, s: &str) -> i64 {
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        let id = self.strings.len() as i64;
        self.strings.push(s.to_string());
        self.string_ids.insert(s.to_string(), id);
        id
    }

    pub fn value_type(&mut self, ty: &str, unit: &str) -> proto::ValueType {
        proto::ValueType {
            ty: self.string(ty),
            unit: self.string(unit),
        }
    }

    /// A string label.
    pub fn label(&mut self, key: &str, value: &str) -> proto::Label {
        proto::Label {
            key: self.string(key),
            str: self.string(value),
            ..Default::default()
        }
    }

    fn function(&mut self, symbol: &Symbol) -> u64 {
        let key = (symbol.name.clone(), symbol.file.clone());
        if let Some(&id) = self.function_ids.get(&key) {
            return id;
        }
        let id = self.functions.len() as u64 + 1;
        let function = proto::Function {
            id,
            name: self.string(&symbol.name),
            system_name: self.string(&symbol.system_name),
            filename: self.string(&symbol.file),
            start_line: 0,
        };
        self.functions.push(function);
        self.function_ids.insert(key, id);
        id
    }

    /// The symbols at a return address (see [`symbols_at`]).
    pub(crate) fn resolve(&mut self, ip: usize) -> Arc<[Symbol]> {
        symbols_at(ip)
    }

    /// Location ids for a stack of return addresses, innermost first,
    /// without the symbols `cut` gives to the profiler.
    pub fn stack(&mut self, ips: &[usize], cut: Cut<'_>) -> Vec<u64> {
        // The unwinder may end a stack with a null return address.
        let frames: Vec<(usize, Arc<[Symbol]>)> = ips
            .iter()
            .filter(|&&ip| ip != 0)
            .map(|&ip| (ip, self.resolve(ip)))
            .collect();
        let names: Vec<&str> = frames
            .iter()
            .flat_map(|(_, symbols)| symbols.iter().map(|s| s.name.as_str()))
            .collect();
        let mut skip = cut(&names).min(names.len());
        let mut ids = Vec::new();
        for (ip, symbols) in &frames {
            if skip >= symbols.len() {
                skip -= symbols.len();
                continue;
            }
            ids.push(self.location(*ip, skip, &symbols[skip..]));
            skip = 0;
        }
        ids
    }

    fn location(&mut self, ip: usize, skip: usize, symbols: &[Symbol]) -> u64 {
        if let Some(&id) = self.location_ids.get(&(ip, skip)) {
            return id;
        }
        let line = symbols
            .iter()
            .map(|s| proto::Line {
                function_id: self.function(s),
                line: s.line,
            })
            .collect();
        let address = ip as u64;
        let mapping_id = self
            .mappings
            .iter()
            .position(|m| (m.start..m.limit).contains(&address))
            .map_or(0, |i| i as u64 + 1);
        let id = self.locations.len() as u64 + 1;
        self.locations.push(proto::Location {
            id,
            mapping_id,
            address,
            line,
            is_folded: false,
        });
        self.location_ids.insert((ip, skip), id);
        id
    }

    /// A location for something that has no address: a frame named
    /// `name` (events the profiler could not keep, say).
    pub fn synthetic_location(&mut self, name: &str) -> u64 {
        self.named_location(name, "", 0)
    }

    /// A location known by its function, file and line only (a tokio
    /// task's frame, as its runtime reports it).
    pub fn named_location(&mut self, name: &str, file: &str, line: i64) -> u64 {
        let function_id = self.function(&Symbol {
            name: name.to_string(),
            system_name: name.to_string(),
            file: file.to_string(),
            line,
            column: 0,
            entry: 0,
        });
        let id = self.locations.len() as u64 + 1;
        self.locations.push(proto::Location {
            id,
            line: vec![proto::Line { function_id, line }],
            ..Default::default()
        });
        id
    }

    /// A count profile (Go's goroutine and threadcreate): one sample type,
    /// `ty`/`count`, period 1, taken now, with `comment` for `go tool pprof
    /// -comments`.
    pub fn finish_counts(mut self, ty: &str, comment: &str) -> proto::Profile {
        let sample_type = self.value_type(ty, "count");
        let comment = self.string(comment);
        let mut profile = self.finish();
        profile.sample_type = vec![sample_type];
        profile.period_type = Some(sample_type);
        profile.period = 1;
        profile.comment = vec![comment];
        profile.time_nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i64);
        profile
    }

    /// The profile so far; the caller fills in the sample types, times and
    /// period.
    pub fn finish(mut self) -> proto::Profile {
        let mapping = std::mem::take(&mut self.mappings)
            .into_iter()
            .enumerate()
            .map(|(i, m)| proto::Mapping {
                id: i as u64 + 1,
                memory_start: m.start,
                memory_limit: m.limit,
                file_offset: m.offset,
                filename: self.string(&m.file),
                build_id: 0,
                has_functions: true,
                has_filenames: true,
                has_line_numbers: true,
                has_inline_frames: true,
            })
            .collect();
        proto::Profile {
            sample: self.samples,
            mapping,
            location: self.locations,
            function: self.functions,
            string_table: self.strings,
            ..Default::default()
        }
    }
}

/// The executable mappings of this process, the program's own first (the
/// readers take the first mapping's file for the program's name).
fn own_mappings() -> Vec<Mapping> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut mappings = parse_maps(&maps);
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    mappings.sort_by_key(|m| m.file != exe);
    mappings
}

/// `start-limit perms offset dev inode path` lines; the executable ones
/// that name a file (or the vDSO).
fn parse_maps(maps: &str) -> Vec<Mapping> {
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_ascii_whitespace();
            let (range, perms, offset) = (fields.next()?, fields.next()?, fields.next()?);
            let file = fields.nth(2)?;
            if !perms.contains('x') || !(file.starts_with('/') || file == "[vdso]") {
                return None;
            }
            let (start, limit) = range.split_once('-')?;
            Some(Mapping {
                start: u64::from_str_radix(start, 16).ok()?,
                limit: u64::from_str_radix(limit, 16).ok()?,
                offset: u64::from_str_radix(offset, 16).ok()?,
                file: file.to_string(),
            })
        })
        .collect()
}

/// `profile` encoded and gzipped, as a file or an endpoint serves it.
pub(crate) fn gzipped(profile: &proto::Profile) -> Vec<u8> {
    use flate2::write::GzEncoder;
    use prost::Message;
    use std::io::Write;
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to memory does not fail.
    let _ = gz.write_all(&profile.encode_to_vec());
    gz.finish().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executable_mappings_are_read_from_proc_maps() {
        let maps = "\
55d0c8a00000-55d0c8a01000 r--p 00000000 fd:01 42 /srv/bin/order-service
55d0c8a01000-55d0c8b00000 r-xp 00001000 fd:01 42 /srv/bin/order-service
7f0000000000-7f0000001000 rw-p 00000000 00:00 0
7f0000100000-7f0000200000 r-xp 00028000 fd:01 7 /usr/lib/x86_64-linux-gnu/libc.so.6
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0 [vdso]
";
        let m = parse_maps(maps);
        assert_eq!(m.len(), 3);
        assert_eq!(
            m[0],
            Mapping {
                start: 0x55d0c8a01000,
                limit: 0x55d0c8b00000,
                offset: 0x1000,
                file: "/srv/bin/order-service".into()
            }
        );
        assert_eq!(m[2].file, "[vdso]");
    }

    #[inline(never)]
    fn here() -> usize {
        let mut ip = 0;
        backtrace::trace(|frame| {
            ip = frame.ip() as usize;
            false
        });
        ip
    }

    #[test]
    fn a_location_names_its_mapping_and_address_and_the_program_comes_first() {
        let mut b = Builder::new();
        let ip = here();
        let ids = b.stack(&[ip], &keep_all);
        let profile = b.finish();
        let location = &profile.location[ids[0] as usize - 1];
        assert_eq!(location.address, ip as u64);
        let mapping = &profile.mapping[location.mapping_id as usize - 1];
        assert!((mapping.memory_start..mapping.memory_limit).contains(&(ip as u64)));
        let exe = std::env::current_exe().unwrap().display().to_string();
        assert_eq!(
            profile.string_table[profile.mapping[0].filename as usize],
            exe
        );
    }

    #[test]
    fn rust_functions_keep_their_mangled_name_beside_the_readable_one() {
        let mut b = Builder::new();
        let ip = here();
        b.stack(&[ip], &keep_all);
        let profile = b.finish();
        let f = &profile.function[0];
        let name = &profile.string_table[f.name as usize];
        let system = &profile.string_table[f.system_name as usize];
        assert_ne!(name, system, "{name}");
        assert!(
            system.starts_with("_R") || system.starts_with("_ZN"),
            "{system}"
        );
    }

    /// The table of named addresses outlives a release of the debug
    /// information and never holds more than [`MAX_NAMED`] addresses.
    #[test]
    fn named_addresses_are_kept_and_bounded() {
        let ip = here();
        let first = symbols_at(ip);
        release_symbols();
        assert!(Arc::ptr_eq(&first, &symbols_at(ip)));
        // Addresses in no mapping name nothing, quickly.
        for i in 0..MAX_NAMED + 10 {
            symbols_at(0x10_0000 + i * 16);
        }
        let kept = named_count();
        assert!((10..=MAX_NAMED).contains(&kept), "{kept}");
    }
}
