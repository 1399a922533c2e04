//! labkit knows no lab: `labkit summary` and `labkit diff` rank the own
//! functions of whatever program the profile names, and the user can name
//! the crates instead (`--own`). Before, only crates called `lab_*` or
//! `solution_*` counted, and any other program read "own frames: none".

use std::path::Path;
use std::process::Command;

use labkit::proto as protos;
use prost::Message;

/// A CPU profile of `program` (none: no mapping) with `n` samples on each
/// stack, given root first.
fn profile(program: Option<&str>, stacks: &[(&[&str], i64)]) -> Vec<u8> {
    let mut strings = vec![String::new(), "samples".into(), "count".into()];
    let mut functions: Vec<String> = Vec::new();
    let mut sample = Vec::new();
    for (stack, n) in stacks {
        let mut ids = Vec::new();
        for name in stack.iter().rev() {
            let id = match functions.iter().position(|f| f == name) {
                Some(i) => i + 1,
                None => {
                    functions.push(name.to_string());
                    functions.len()
                }
            };
            ids.push(id as u64);
        }
        sample.push(protos::Sample {
            location_id: ids,
            value: vec![*n],
            label: vec![],
        });
    }
    let first_name = strings.len() as i64;
    strings.extend(functions.iter().cloned());
    let mapping = program
        .map(|p| {
            strings.push(p.to_string());
            protos::Mapping {
                id: 1,
                filename: strings.len() as i64 - 1,
                has_functions: true,
                ..Default::default()
            }
        })
        .into_iter()
        .collect();
    protos::Profile {
        sample_type: vec![protos::ValueType { ty: 1, unit: 2 }],
        sample,
        mapping,
        location: (1..=functions.len() as u64)
            .map(|id| protos::Location {
                id,
                mapping_id: u64::from(program.is_some()),
                line: vec![protos::Line {
                    function_id: id,
                    line: 0,
                }],
                ..Default::default()
            })
            .collect(),
        function: (1..=functions.len() as u64)
            .map(|id| protos::Function {
                id,
                name: first_name + id as i64 - 1,
                ..Default::default()
            })
            .collect(),
        string_table: strings,
        ..Default::default()
    }
    .encode_to_vec()
}

const STACKS: &[(&[&str], i64)] = &[
    (
        &[
            "std::rt::lang_start",
            "tokio::runtime::block_on",
            "order_service::handle",
            "order_service::price",
            "serde_json::to_vec",
        ],
        150,
    ),
    (
        &[
            "std::rt::lang_start",
            "tokio::runtime::block_on",
            "order_service::handle",
            "order_service::audit",
        ],
        50,
    ),
];

fn labkit(args: &[&str], file: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_labkit"))
        .args(args)
        .arg(file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_program_a_profile_names_is_own() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cpu.pb");
    std::fs::write(&file, profile(Some("/srv/bin/order-service"), STACKS)).unwrap();
    let text = labkit(&["summary"], &file);
    assert!(
        text.contains("≥ 90%    handle\n")
            && text.contains("70–90%   price\n")
            && text.contains("10–30%   audit\n"),
        "{text}"
    );
    assert!(
        !text.contains("serde_json") && !text.contains("tokio"),
        "{text}"
    );
}

#[test]
fn without_a_program_main_s_crate_is_own_and_the_user_can_name_crates() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cpu.pb");
    // No mapping and no `main`: nothing to go by, and the summary says so
    // rather than "none".
    std::fs::write(&file, profile(None, STACKS)).unwrap();
    let text = labkit(&["summary"], &file);
    assert!(text.contains("own frames: unknown"), "{text}");
    assert!(text.contains("--own CRATE"), "{text}");
    let text = labkit(&["summary", "--own", "order-service"], &file);
    assert!(text.contains("≥ 90%    handle\n"), "{text}");

    // A `main` names its crate.
    let mut with_main: Vec<(&[&str], i64)> = STACKS.to_vec();
    with_main.push((&["std::rt::lang_start", "order_service::main"], 1));
    std::fs::write(&file, profile(None, &with_main)).unwrap();
    let text = labkit(&["summary"], &file);
    assert!(text.contains("≥ 90%    handle\n"), "{text}");
}

#[test]
fn two_programs_compare_by_their_own_functions() {
    let dir = tempfile::tempdir().unwrap();
    let (before, after) = (dir.path().join("before.pb"), dir.path().join("after.pb"));
    let renamed = |stacks: &[(&[&str], i64)], krate: &str| -> Vec<(Vec<String>, i64)> {
        stacks
            .iter()
            .map(|(s, n)| {
                let s = s
                    .iter()
                    .map(|f| f.replace("order_service", krate))
                    .collect();
                (s, *n)
            })
            .collect()
    };
    let write = |path: &Path, program: &str, stacks: Vec<(Vec<String>, i64)>| {
        let refs: Vec<Vec<&str>> = stacks
            .iter()
            .map(|(s, _)| s.iter().map(String::as_str).collect())
            .collect();
        let stacks: Vec<(&[&str], i64)> = refs
            .iter()
            .zip(&stacks)
            .map(|(r, (_, n))| (r.as_slice(), *n))
            .collect();
        std::fs::write(path, profile(Some(program), &stacks)).unwrap();
    };
    // The same functions in two crates (a program and its fixed copy),
    // with `audit` grown from 25 % to 75 % of the samples.
    write(&before, "/t/old-service", renamed(STACKS, "old_service"));
    let mut grown = renamed(STACKS, "new_service");
    grown[0].1 = 50;
    grown[1].1 = 150;
    write(&after, "/t/new-service", grown);
    let out = Command::new(env!("CARGO_BIN_EXE_labkit"))
        .arg("diff")
        .args([&before, &after])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let grew = text
        .lines()
        .find(|l| l.contains("grew"))
        .unwrap_or_default();
    assert!(grew.contains("audit"), "{text}");
    assert!(
        !text.contains("old_service") && !text.contains("new_service"),
        "{text}"
    );
}
