//! jemalloc starts with the options this crate exports: a program that
//! makes `live_heap::Jemalloc` its allocator has the heap profiler on and
//! sampling, with nothing set in the environment or the build.

#[global_allocator]
static ALLOC: live_heap::Jemalloc = live_heap::Jemalloc;

#[test]
fn jemalloc_reads_the_exported_options() {
    let kept: Vec<u64> = (0..1000).collect();
    assert_eq!(kept.len(), 1000);
    assert!(
        tikv_jemalloc_ctl::profiling::prof::read().expect("opt.prof"),
        "jemalloc's profiler is off: _rjem_malloc_conf did not reach jemalloc"
    );
    assert_eq!(
        tikv_jemalloc_ctl::profiling::lg_prof_sample::read().expect("opt.lg_prof_sample"),
        19
    );
}

#[test]
fn the_options_end_in_exactly_one_nul() {
    let bytes = &live_heap::MALLOC_CONF[..];
    assert_eq!(bytes.last(), Some(&0));
    assert_eq!(&bytes[..bytes.len() - 1], live_heap::OPTIONS.as_bytes());
    assert!(!live_heap::OPTIONS.contains('\0'));
}
