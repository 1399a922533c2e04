//! `cargo workbook new 095 "title"`: a new day, declared once. It writes a
//! lab and its solution (a CPU profile taken around nothing, and around
//! the work), the day's module with its check, a page in the journal
//! format, and wires them in: the registry entry (module, week, title,
//! symptom), the workspace's members, SUMMARY.md, the journal's row and
//! the navigation lines of the new page and the one before. The author
//! then writes the day's real pitfall over the scaffold; `cargo workbook
//! check --no-labs` names what is still missing (the snapshot, first).
//!
//! Every edit is made in memory first; nothing is written unless every
//! edit applies, and each file is replaced whole (temp file, rename).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use workbook::{DAYS, Day};

use crate::layout;

/// A day's id: three digits.
pub fn parse_id(s: &str) -> Result<String, String> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err(format!("{s:?} is not a day id: three digits, such as 095"))
    }
}

pub fn run(id: &str, title: &str, week: Option<&str>, symptom: &str) -> ExitCode {
    let root = workbook::root();
    match plan(&root, id, title, week, symptom).and_then(|files| write(&root, &files)) {
        Ok(written) => {
            for file in written {
                println!("wrote  {}", file.display());
            }
            println!(
                "next   write the pitfall in labs/lab-{id}/src/main.rs and its check in \
                 labs/workbook/src/days/day{id}.rs;\n       \
                 INSTA_UPDATE=always cargo test -p solution-{id} writes the snapshot: paste its \
                 summary into the page's expected profile;\n       \
                 cargo workbook check --no-labs says what is still missing"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("workbook new: {e}");
            ExitCode::FAILURE
        }
    }
}

/// An edit of an existing file: its text, the new day, the last day.
type Edit = fn(&str, &Day, &Day) -> Result<String, String>;

/// Every file to write, with its whole new text.
pub fn plan(
    root: &Path,
    id: &str,
    title: &str,
    week: Option<&str>,
    symptom: &str,
) -> Result<Vec<(PathBuf, String)>, String> {
    let last = DAYS.last().ok_or("the registry is empty")?;
    if id <= last.id {
        return Err(format!(
            "Day {id} would not come after the last day, {}: a new day's id is larger",
            last.id
        ));
    }
    for text in [title, symptom, week.unwrap_or("")] {
        if text.contains('"') || text.contains('\\') || text.contains('\n') {
            return Err(format!(
                "{text:?}: quotes, backslashes and line breaks cannot be used here"
            ));
        }
    }
    let week = week.unwrap_or(last.week);
    // A registry entry holds `&'static str`s; this one lives for the rest
    // of a one-shot command, so its few strings are leaked, not copied
    // into a second type. Its `check` is never called here.
    let day = Day {
        id: Box::leak(id.to_string().into_boxed_str()),
        week: Box::leak(week.to_string().into_boxed_str()),
        title: Box::leak(title.to_string().into_boxed_str()),
        symptom: Box::leak(symptom.to_string().into_boxed_str()),
        hints: NEW_HINTS,
        check: last.check,
        lab_matches_solution: true,
    };
    let read = |p: &str| layout::read(&root.join(p));
    let mut files = Vec::new();
    for (path, text) in [
        (
            day.lab_dir().join("Cargo.toml"),
            manifest(&day.lab(), false),
        ),
        (day.lab_dir().join("src/main.rs"), program(&day, false)),
        (day.lab_dir().join("tests/self_check.rs"), self_check(&day)),
        (
            day.solution_dir().join("Cargo.toml"),
            manifest(&day.solution(), true),
        ),
        (day.solution_dir().join("src/main.rs"), program(&day, true)),
        (
            day.solution_dir().join("tests/solution.rs"),
            solution_test(&day),
        ),
        (
            PathBuf::from(format!("labs/workbook/src/days/day{id}.rs")),
            module(&day),
        ),
        (PathBuf::from(day.page()), page(&day, last)),
    ] {
        if root.join(&path).exists() {
            return Err(format!("{} exists already", path.display()));
        }
        files.push((path, text));
    }
    let edits: [(&str, Edit); 6] = [
        ("labs/workbook/src/registry.rs", registry_with),
        ("labs/workbook/src/days/mod.rs", modules_with),
        ("Cargo.toml", members_with),
        ("book/SUMMARY.md", summary_with),
        ("book/journal.md", journal_with),
        ("", previous_page_with),
    ];
    for (path, edit) in edits {
        let path = if path.is_empty() {
            last.page()
        } else {
            path.to_string()
        };
        let text = edit(&read(&path)?, &day, last).map_err(|e| format!("{path}: {e}"))?;
        files.push((PathBuf::from(path), text));
    }
    Ok(files)
}

fn write(root: &Path, files: &[(PathBuf, String)]) -> Result<Vec<PathBuf>, String> {
    for (path, text) in files {
        let path = root.join(path);
        let dir = path.parent().ok_or("a file without a directory")?;
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        labkit::atomic::write_bytes(&path, text.as_bytes())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(files.iter().map(|(p, _)| p.clone()).collect())
}

/// Inserts `line` after the last line that `after` matches.
fn insert_after(text: &str, after: impl Fn(&str) -> bool, line: &str) -> Result<String, String> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .rposition(|l| after(l))
        .ok_or("the place to insert at was not found")?;
    let mut out: Vec<&str> = lines[..=at].to_vec();
    out.push(line);
    out.extend(&lines[at + 1..]);
    Ok(out.join("\n") + "\n")
}

/// A new day's hints until its author writes them: the shape each level
/// takes (where to look, the concept, the fix).
const NEW_HINTS: [&str; 3] = [
    "Open the profile the lab wrote: what does it show, and what did you expect it to show?",
    "The concept behind the pitfall, in two sentences, with its Go counterpart.",
    "The fix, with the line that changes.",
];

pub fn registry_with(registry: &str, day: &Day, _: &Day) -> Result<String, String> {
    let end = registry
        .find("\n];")
        .ok_or("no end of DAYS (a line `];`)")?;
    let entry = format!(
        "\n    day! {{\n        module: day{id},\n        week: \"{}\",\n        title: \"{}\",\n        \
         check: files,\n        // ANCHOR: symptom-{id}\n        symptom: \"{}\",\n        \
         // ANCHOR_END: symptom-{id}\n        hints: [\n{}        ],\n    }},",
        day.week,
        day.title,
        day.symptom,
        day.hints
            .iter()
            .map(|h| format!("            {h:?},\n"))
            .collect::<String>(),
        id = day.id
    );
    Ok(format!("{}{entry}{}", &registry[..end], &registry[end..]))
}

pub fn modules_with(list: &str, day: &Day, _: &Day) -> Result<String, String> {
    insert_after(
        list,
        |l| l.starts_with("pub mod day"),
        &format!("pub mod day{};", day.id),
    )
}

/// The lab after the last lab in `members`; the solution after the last
/// solution in `members` and in `default-members`.
pub fn members_with(manifest: &str, day: &Day, last: &Day) -> Result<String, String> {
    let quoted = |dir: PathBuf| format!("    \"{}\",", dir.display());
    let (last_lab, last_solution) = (quoted(last.lab_dir()), quoted(last.solution_dir()));
    let mut out = Vec::new();
    let mut added = (0, 0);
    for line in manifest.lines() {
        out.push(line.to_string());
        if line == last_lab {
            out.push(quoted(day.lab_dir()));
            added.0 += 1;
        }
        if line == last_solution {
            out.push(quoted(day.solution_dir()));
            added.1 += 1;
        }
    }
    if added != (1, 2) {
        return Err(format!(
            "expected {last_lab} once (members) and {last_solution} twice (members, \
             default-members), found {} and {}",
            added.0, added.1
        ));
    }
    Ok(out.join("\n") + "\n")
}

pub fn summary_with(summary: &str, day: &Day, last: &Day) -> Result<String, String> {
    let previous = layout::summary_line(last);
    insert_after(summary, |l| l == previous, &layout::summary_line(day))
}

pub fn journal_with(journal: &str, day: &Day, last: &Day) -> Result<String, String> {
    let previous = layout::journal_line(last);
    insert_after(journal, |l| l == previous, &layout::journal_line(day))
}

/// The last page's forward link now leads to the new day.
pub fn previous_page_with(page: &str, day: &Day, _: &Day) -> Result<String, String> {
    let reference = "[Go diagnostics → this workbook](go-to-rust.md)";
    let [_, old_forward, _] = layout::nav_links(None, None);
    let mut lines: Vec<String> = page.lines().map(String::from).collect();
    let nav = lines.get_mut(2).ok_or("no navigation line")?;
    if !nav.contains(&old_forward) {
        return Err(format!("its navigation line has no {old_forward}"));
    }
    *nav = nav.replace(
        &old_forward,
        &format!("[Day {} ➡]({})", day.id, day.page_file()),
    );
    if !nav.contains(reference) {
        *nav = format!("{} · {reference}*", nav.trim_end_matches('*'));
    }
    Ok(lines.join("\n") + "\n")
}

fn manifest(package: &str, solution: bool) -> String {
    let insta = if solution {
        "insta.workspace = true\n"
    } else {
        ""
    };
    format!(
        "[package]\nname = \"{package}\"\nedition.workspace = true\nversion.workspace = true\n\
         publish.workspace = true\nlicense.workspace = true\n\n[dependencies]\n\
         labkit.workspace = true\nworkbook.workspace = true\n\n[dev-dependencies]\n\
         selfcheck.workspace = true\n{insta}\n[lints]\nworkspace = true\n"
    )
}

/// The scaffold's program: a CPU profile around the work (the solution)
/// or around nothing (the lab), to be replaced by the day's own pitfall.
fn program(day: &Day, solution: bool) -> String {
    let (what, body) = if solution {
        (
            "the fixed program",
            "    {\n        let _profile = ProfileScope::start(&out_dir)?;\n        \
             std::hint::black_box(work());\n    }",
        )
    } else {
        (
            "the lab",
            "    let profile = ProfileScope::start(&out_dir)?;\n    drop(profile);\n    \
             std::hint::black_box(work());",
        )
    };
    format!(
        "//! Day {id}, {title}: {what}.\n\nuse labkit::Error;\nuse labkit::capture::{{ProfileScope, \
         until_sampled}};\nuse labkit::work::burn;\n\nfn main() -> Result<(), Error> {{\n    \
         let out_dir = workbook::this_day!().out_dir();\n    // ANCHOR: scope\n{body}\n    \
         // ANCHOR_END: scope\n    workbook::this_day!().report(&out_dir);\n    Ok(())\n}}\n\n\
         #[inline(never)]\nfn work() -> u64 {{\n    until_sampled(100, 400).fold(0, |total, i| \
         total ^ burn(1, i))\n}}\n",
        id = day.id,
        title = day.title
    )
}

fn self_check(day: &Day) -> String {
    format!(
        "//! Day {}'s self-check: `cargo test -p {}`.\n\n#[test]\nfn the_profile_shows_the_work() \
         {{\n    selfcheck::lab!();\n}}\n",
        day.id,
        day.lab()
    )
}

fn solution_test(day: &Day) -> String {
    format!(
        "//! Day {id}'s solution proves itself.\n\nuse std::path::PathBuf;\n\nuse \
         selfcheck::OrFail;\nuse workbook::days::day{id};\n\nfn solution_output() -> PathBuf {{\n    \
         selfcheck::run_once!()\n}}\n\n#[test]\nfn summary() {{\n    let summary = \
         day{id}::check(&solution_output()).or_fail();\n    insta::assert_snapshot!(\"summary\", \
         summary.to_string());\n}}\n\n#[test]\nfn the_book_shows_the_snapshot() {{\n    \
         selfcheck::assert_book_shows_snapshot(workbook::this_day!(), &[]);\n}}\n\n#[test]\n\
         #[ignore = \"the emulated machines take a minute in all; .ci/run runs them: cargo test -- \
         --ignored emulated\"]\nfn passes_on_emulated_machines() {{\n    selfcheck::passes_on_emulated_machines!();\n}}\n",
        id = day.id
    )
}

fn module(day: &Day) -> String {
    format!(
        "//! Day {id}, {title}: what its profile must show.\n\nuse std::path::Path;\n\n\
         use crate::verdict::Failure;\nuse labkit::capture::PPROF_FILE;\nuse \
         labkit::summary::CpuSummary;\n\npub const DAY: &str = \
         crate::registry::module_day(module_path!());\n/// What the lab as shipped fails with, \
         from its registry entry.\nconst SYMPTOM: &str = crate::registry::symptom(DAY);\n\n\
         /// The samples the summary ranks with.\npub const MIN_SAMPLES: i64 = 300;\n\n\
         /// Reads `dir/cpu.pb.gz` and checks it is the profile the day expects.\npub fn \
         check(dir: &Path) -> Result<CpuSummary, Failure> {{\n    let summary = \
         crate::verdict::load_cpu_summary(DAY, &dir.join(PPROF_FILE), MIN_SAMPLES)?;\n    \
         if summary.samples < MIN_SAMPLES {{\n        return Err(Failure {{\n            day: \
         DAY,\n            symptom: format!(\"cpu profile has {{}} samples: {{SYMPTOM}}\", \
         summary.samples),\n            hint: \
         crate::registry::first_hint(DAY),\n        }});\n    }}\n    Ok(summary)\n}}\n\n/// Checks what a run wrote into \
         `dir` and prints the closing lines.\npub fn report(dir: &Path) {{\n    let files = \
         [dir.join(PPROF_FILE), dir.join(labkit::capture::FLAME_FILE)];\n    \
         crate::verdict::report(&files, &check(dir));\n}}\n",
        id = day.id,
        title = day.title
    )
}

fn page(day: &Day, last: &Day) -> String {
    let id = day.id;
    format!(
        "# Day {id} — {title}\n\n{nav}\n\n## 🎯 Learning objective\n\n## 📚 Topics\n\n\
         ## 📖 Reading\n\n## 📝 Notes\n\n## 💻 Code examples\n\n```rust\n\
         {{{{#include ../labs/lab-{id}/src/main.rs:scope}}}}\n```\n\n### 🔮 Predict first\n\n\
         Predict the summary before you run it: \n\n### The expected profile\n\n\
         <details><summary>Open it once you have made your prediction</summary>\n\n\
         ```text\n(the solution's snapshot, pasted: its test checks that this page shows it)\n\
         ```\n\n</details>\n\n## 🏋️ Exercises\n\n| exercise | status | command |\n\
         | --- | --- | --- |\n| Run the lab | ⬜ | `cargo run -p lab-{id}` |\n\n\
         <details><summary>What the self-check says as shipped</summary>\n\n\
         ```rust,ignore\n{{{{#include ../labs/workbook/src/registry.rs:symptom-{id}}}}}\n```\n\n\
         </details>\n\n\
         ### After the exercises: the fix\n\n<details><summary>Show the fix</summary>\n\n```rust\n\
         {{{{#include ../solutions/solution-{id}/src/main.rs:scope}}}}\n```\n\n</details>\n\n\
         ## 🐛 Mistakes made\n\n## ❓ Open questions\n\n## 🧠 Active recall\n\n\
         1. \n\n## 🪶 Feynman reflection\n\n\
         ## 🕳️ Knowledge gaps\n\n## ✅ Summary\n\n## ⏭️ Next steps\n\n\
         **Suggested commit:** `fix(lab-{id}): (day {id})`\n",
        title = layout::capitalised(day.title),
        nav = layout::nav_line_for(day, Some(last), None),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_day() -> Day {
        Day {
            id: "099",
            week: "Month 4 · Week 3",
            title: "a new day",
            symptom: "something is wrong",
            hints: NEW_HINTS,
            check: DAYS[0].check,
            lab_matches_solution: true,
        }
    }

    #[test]
    fn a_new_day_is_wired_into_every_list_and_passes_the_layout_checks() {
        let (day, last) = (new_day(), DAYS.last().unwrap());
        let root = workbook::root();
        let read = |p: &str| layout::read(&root.join(p)).unwrap();
        let summary = summary_with(&read("book/SUMMARY.md"), &day, last).unwrap();
        assert!(layout::summary_entry(&day, &summary).is_empty());
        assert!(layout::summary_entry(last, &summary).is_empty());
        let journal = journal_with(&read("book/journal.md"), &day, last).unwrap();
        assert!(layout::journal_row(&day, &journal).is_empty());
        let previous = previous_page_with(&read(&last.page()), &day, last).unwrap();
        let before = DAYS.len().checked_sub(2).map(|i| &DAYS[i]);
        assert_eq!(
            layout::nav_line(last, before, Some(&day), &previous),
            Vec::<String>::new()
        );
        let new_page = page(&day, last);
        assert!(layout::nav_line(&day, Some(last), None, &new_page).is_empty());
        assert!(layout::title_line(&day, &new_page).is_empty());
        assert!(
            crate::pages::missing(&new_page).is_empty(),
            "{:?}",
            crate::pages::missing(&new_page)
        );
        let manifest = members_with(&read("Cargo.toml"), &day, last).unwrap();
        assert_eq!(manifest.matches("\"labs/lab-099\"").count(), 1);
        assert_eq!(manifest.matches("\"solutions/solution-099\"").count(), 2);
        let registry = registry_with(&read("labs/workbook/src/registry.rs"), &day, last).unwrap();
        assert!(registry.contains("module: day099,"));
        assert!(
            registry.contains("// ANCHOR: symptom-099\n        symptom: \"something is wrong\",")
        );
        assert!(registry.trim_end().ends_with("];") || registry.contains("\n];"));
    }

    #[test]
    fn bad_ids_and_texts_are_refused_before_anything_is_written() {
        assert!(parse_id("95").is_err());
        assert!(parse_id("09a").is_err());
        let root = workbook::root();
        let last = DAYS.last().unwrap().id;
        let err = plan(&root, last, "x", None, "y").unwrap_err();
        assert!(err.contains("after the last day"), "{err}");
        let err = plan(&root, "999", "a \"quoted\" title", None, "y").unwrap_err();
        assert!(err.contains("quotes"), "{err}");
    }
}
