//! A lab links what its day records, no more: Day 080 (a CPU profile)
//! compiles about 90 crates and none of the service stack, the heap or
//! trace recorders, jemalloc's C sources or a protobuf compiler. Once,
//! every lab compiled 174 crates, and the first lab output took three
//! minutes on a fresh clone.

use std::process::Command;

/// The packages `cargo run -p PACKAGE` compiles, by name and version.
fn compiled(package: &str) -> Vec<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .args([
            "tree",
            "-p",
            package,
            "-e",
            "normal,build",
            "--prefix",
            "none",
        ])
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut crates: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| {
            l.trim_end_matches(" (*)")
                .split(" (")
                .next()
                .unwrap_or(l)
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect();
    crates.sort();
    crates.dedup();
    crates
}

#[test]
fn day_080_compiles_at_most_90_crates_and_nothing_it_does_not_use() {
    let crates = compiled("lab-080");
    assert!(crates.len() <= 90, "{} crates: {crates:?}", crates.len());
    for unwanted in [
        "tokio ",
        "axum ",
        "hyper ",
        "dhat ",
        "tracing-chrome ",
        "tikv-jemalloc-sys ",
        "prost-build ",
    ] {
        assert!(
            !crates.iter().any(|c| c.starts_with(unwanted)),
            "lab-080 compiles {unwanted}"
        );
    }
}

#[test]
fn only_day_089_links_jemalloc() {
    assert!(
        compiled("lab-089")
            .iter()
            .any(|c| c.starts_with("tikv-jemalloc-sys "))
    );
    for lab in ["lab-084", "lab-087", "lab-090"] {
        assert!(
            !compiled(lab)
                .iter()
                .any(|c| c.starts_with("tikv-jemalloc-sys ")),
            "{lab} links jemalloc"
        );
    }
}
