//! The tree against the registry: one function per fact, each returning
//! what it found wrong (an empty list when the fact holds). The workspace
//! comes from `cargo metadata`, the files are read once, and a file that
//! cannot be read is a failure that names it, never an empty string.

use std::path::{Path, PathBuf};
use std::process::Command;

use workbook::{DAYS, Day};

use crate::pages;

/// What `cargo metadata` says about the workspace.
pub struct Workspace {
    /// Every member: its package name and directory, relative to the root.
    pub members: Vec<(String, PathBuf)>,
    /// The directories of the default members, relative to the root.
    pub defaults: Vec<PathBuf>,
}

impl Workspace {
    /// Runs `cargo metadata --no-deps` in `root`.
    pub fn read(root: &Path) -> Result<Workspace, String> {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let output = Command::new(&cargo)
            .current_dir(root)
            .args(["metadata", "--no-deps", "--format-version", "1"])
            .output()
            .map_err(|e| format!("cannot run {cargo} metadata: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "cargo metadata failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Workspace::parse(root, &output.stdout)
    }

    /// Reads `cargo metadata`'s JSON (format 1).
    pub fn parse(root: &Path, json: &[u8]) -> Result<Workspace, String> {
        let metadata: serde_json::Value = serde_json::from_slice(json)
            .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
        let ids = |key: &str| -> Result<Vec<String>, String> {
            metadata[key]
                .as_array()
                .ok_or_else(|| format!("cargo metadata has no {key} (cargo 1.71 or later has)"))?
                .iter()
                .map(|id| {
                    id.as_str()
                        .map(String::from)
                        .ok_or(format!("a {key} entry"))
                })
                .collect()
        };
        let (members, defaults) = (ids("workspace_members")?, ids("workspace_default_members")?);
        let mut workspace = Workspace {
            members: Vec::new(),
            defaults: Vec::new(),
        };
        for package in metadata["packages"].as_array().into_iter().flatten() {
            let (Some(id), Some(name), Some(manifest)) = (
                package["id"].as_str(),
                package["name"].as_str(),
                package["manifest_path"].as_str(),
            ) else {
                return Err("cargo metadata lists a package without id, name or manifest".into());
            };
            let dir = Path::new(manifest).parent().unwrap_or(Path::new(""));
            let dir = dir.strip_prefix(root).unwrap_or(dir).to_path_buf();
            if members.iter().any(|m| m == id) {
                workspace.members.push((name.to_string(), dir.clone()));
            }
            if defaults.iter().any(|m| m == id) {
                workspace.defaults.push(dir);
            }
        }
        Ok(workspace)
    }

    fn package_at(&self, name: &str, dir: &Path) -> bool {
        self.members.iter().any(|(n, d)| n == name && d == dir)
    }
}

/// The book's files a day is listed in, read once.
pub struct Book {
    pub summary: String,
    pub journal: String,
    /// `labs/workbook/src/days/mod.rs`: the day modules declared.
    pub modules: String,
}

impl Book {
    pub fn read(root: &Path) -> Result<Book, String> {
        Ok(Book {
            summary: read(&root.join("book/SUMMARY.md"))?,
            journal: read(&root.join("book/journal.md"))?,
            modules: read(&root.join("labs/workbook/src/days/mod.rs"))?,
        })
    }
}

pub fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Every fact, one line each: `(holds, what)`.
pub fn check(root: &Path) -> Vec<(bool, String)> {
    let mut results = Vec::new();
    let (workspace, book) = match (Workspace::read(root), Book::read(root)) {
        (Ok(w), Ok(b)) => (w, b),
        (w, b) => {
            for e in [w.err(), b.err()].into_iter().flatten() {
                results.push((false, e));
            }
            return results;
        }
    };
    for (i, day) in DAYS.iter().enumerate() {
        let (previous, next) = (i.checked_sub(1).map(|p| &DAYS[p]), DAYS.get(i + 1));
        let mut wrong = Vec::new();
        wrong.extend(packages(day, &workspace));
        wrong.extend(files(day, root));
        wrong.extend(module(day, root, &book.modules));
        wrong.extend(summary_entry(day, &book.summary));
        wrong.extend(journal_row(day, &book.journal));
        match read(&root.join(day.page())) {
            Err(e) => wrong.push(e),
            Ok(page) => {
                wrong.extend(title_line(day, &page));
                wrong.extend(nav_line(day, previous, next, &page));
                wrong.extend(
                    pages::missing(&page)
                        .into_iter()
                        .map(|m| format!("{}: {m}", day.page())),
                );
            }
        }
        results.push(if wrong.is_empty() {
            (
                true,
                format!(
                    "Day {}: lab, solution, module, snapshot, page, navigation, SUMMARY and \
                     journal rows",
                    day.id
                ),
            )
        } else {
            (false, format!("Day {}: {}", day.id, wrong.join("; ")))
        });
    }
    let wrong = journal_linked(&book.summary);
    results.push((
        wrong.is_empty(),
        if wrong.is_empty() {
            "journal index: in SUMMARY.md".into()
        } else {
            wrong.join("; ")
        },
    ));
    let wrong: Vec<String> = unknown_packages(&workspace)
        .into_iter()
        .chain(orphan_modules(root))
        .chain(crates_outside(root, &workspace))
        .collect();
    results.push((
        wrong.is_empty(),
        if wrong.is_empty() {
            format!(
                "workspace: {} members; every crate under labs/ and solutions/ is one, every \
                 day package and day module has its entry",
                workspace.members.len()
            )
        } else {
            format!("workspace: {}", wrong.join("; "))
        },
    ));
    results
}

/// The lab and solution are packages where the conventions put them; the
/// solution is a default member (the root `cargo test` runs it), the lab
/// is not (it is red until fixed).
pub fn packages(day: &Day, workspace: &Workspace) -> Vec<String> {
    let mut wrong = Vec::new();
    for (name, dir) in [
        (day.lab(), day.lab_dir()),
        (day.solution(), day.solution_dir()),
    ] {
        if !workspace.package_at(&name, &dir) {
            wrong.push(format!("no package {name} in {}", dir.display()));
        }
    }
    if workspace.defaults.contains(&day.lab_dir()) {
        wrong.push(format!(
            "{} is a default member (labs are red: leave them out)",
            day.lab_dir().display()
        ));
    }
    if !workspace.defaults.contains(&day.solution_dir()) {
        wrong.push(format!(
            "{} is not a default member",
            day.solution_dir().display()
        ));
    }
    wrong
}

/// The self-check, the solution's test, its snapshot and the page exist.
pub fn files(day: &Day, root: &Path) -> Vec<String> {
    [
        day.lab_dir().join("tests/self_check.rs"),
        day.solution_dir().join("tests/solution.rs"),
        day.snapshot(),
        day.page().into(),
    ]
    .into_iter()
    .filter(|file| !root.join(file).is_file())
    .map(|file| format!("no {}", file.display()))
    .collect()
}

/// The day's module is its own file, declared in `days/mod.rs` (`modules`).
pub fn module(day: &Day, root: &Path, modules: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    let file = root.join(format!("labs/workbook/src/days/day{}.rs", day.id));
    if !file.is_file() {
        wrong.push(format!("no module {}", file.display()));
    }
    if !modules.contains(&format!("pub mod day{};", day.id)) {
        wrong.push(format!(
            "labs/workbook/src/days/mod.rs does not declare day{}",
            day.id
        ));
    }
    wrong
}

/// SUMMARY.md's line for the day, as the scaffold writes it.
pub fn summary_line(day: &Day) -> String {
    format!("- [Day {} — {}]({})", day.id, day.title, day.page_file())
}

pub fn summary_entry(day: &Day, summary: &str) -> Vec<String> {
    has_line(summary, &summary_line(day), "book/SUMMARY.md")
}

/// `file` (its text is `text`) holds `line` exactly, trailing spaces aside.
fn has_line(text: &str, line: &str, file: &str) -> Vec<String> {
    if text.lines().any(|l| l.trim_end() == line) {
        Vec::new()
    } else {
        vec![format!("{file} has no line {line:?}")]
    }
}

/// The journal's row for the day, as the scaffold writes it.
pub fn journal_line(day: &Day) -> String {
    format!(
        "| {} | {} | [{}]({}) | `cargo test -p {}` | ⬜ |",
        day.id,
        day.week,
        day.title,
        day.page_file(),
        day.lab()
    )
}

pub fn journal_row(day: &Day, journal: &str) -> Vec<String> {
    has_line(journal, &journal_line(day), "book/journal.md")
}

/// The page's title: `# Day 083 — Profiling concurrent code` (the
/// registry's title, capitalised; a subtitle may follow a colon).
pub fn title_line(day: &Day, page: &str) -> Vec<String> {
    let title = capitalised(day.title);
    let expected = format!("# Day {} — {title}", day.id);
    let first = page.lines().next().unwrap_or("");
    if first == expected || first.starts_with(&format!("{expected}:")) {
        Vec::new()
    } else {
        vec![format!(
            "{}: its first line is not {expected:?}",
            day.page()
        )]
    }
}

pub fn capitalised(title: &str) -> String {
    let mut chars = title.chars();
    chars.next().map_or(String::new(), |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

/// The links of the navigation line under a page's title, in order: the
/// week, back, forward, the journal index.
pub fn nav_links(previous: Option<&Day>, next: Option<&Day>) -> [String; 3] {
    [
        match previous {
            Some(p) => format!("[⬅ Day {}]({})", p.id, p.page_file()),
            None => "[⬅ Introduction](introduction.md)".into(),
        },
        match next {
            Some(n) => format!("[Day {} ➡]({})", n.id, n.page_file()),
            None => "[Go diagnostics → this workbook ➡](go-to-rust.md)".into(),
        },
        "[Journal index](journal.md)".into(),
    ]
}

/// The navigation line under the page's title: the day's week, then the
/// links of [`nav_links`] in order (others may follow).
pub fn nav_line(day: &Day, previous: Option<&Day>, next: Option<&Day>, page: &str) -> Vec<String> {
    let Some(line) = page.lines().nth(2) else {
        return vec![format!("{}: no navigation line", day.page())];
    };
    let week = format!("*{} · ", day.week);
    let mut wrong = Vec::new();
    if !line.starts_with(&week) {
        wrong.push(format!(
            "{}: its navigation line does not start with {week:?}",
            day.page()
        ));
    }
    let mut at = 0;
    for link in nav_links(previous, next) {
        match line[at..].find(&link) {
            Some(i) => at += i + link.len(),
            None => wrong.push(format!(
                "{}: its navigation line lacks {link} (or has it out of order)",
                day.page()
            )),
        }
    }
    wrong
}

/// A whole navigation line, as a new page starts.
pub fn nav_line_for(day: &Day, previous: Option<&Day>, next: Option<&Day>) -> String {
    format!("*{} · {}*", day.week, nav_links(previous, next).join(" · "))
}

pub fn journal_linked(summary: &str) -> Vec<String> {
    if summary.contains("(journal.md)") {
        Vec::new()
    } else {
        vec!["journal index: book/journal.md is not in SUMMARY.md".into()]
    }
}

/// Packages named like a day's that the registry does not know.
pub fn unknown_packages(workspace: &Workspace) -> Vec<String> {
    workspace
        .members
        .iter()
        .filter(|(name, _)| {
            let id = name
                .strip_prefix("lab-")
                .or_else(|| name.strip_prefix("solution-"));
            id.is_some_and(|id| Day::get(id).is_none())
        })
        .map(|(name, dir)| {
            format!(
                "{name} ({}) is no day of the registry: add an entry for it",
                dir.display()
            )
        })
        .collect()
}

/// Day modules (`days/dayNNN.rs`) with no registry entry.
pub fn orphan_modules(root: &Path) -> Vec<String> {
    let dir = root.join("labs/workbook/src/days");
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) => return vec![format!("cannot list {}: {e}", dir.display())],
    };
    let mut wrong = Vec::new();
    for entry in entries {
        let name = match entry {
            Ok(entry) => entry.file_name().to_string_lossy().into_owned(),
            Err(e) => {
                wrong.push(format!("cannot list {}: {e}", dir.display()));
                continue;
            }
        };
        if let Some(id) = name
            .strip_prefix("day")
            .and_then(|rest| rest.strip_suffix(".rs"))
            && Day::get(id).is_none()
        {
            wrong.push(format!("the module {name} has no registry entry"));
        }
    }
    wrong
}

/// Crates under `labs/` and `solutions/` that are not workspace members.
pub fn crates_outside(root: &Path, workspace: &Workspace) -> Vec<String> {
    let mut wrong = Vec::new();
    for base in ["labs", "solutions"] {
        let entries = match std::fs::read_dir(root.join(base)) {
            Ok(entries) => entries,
            Err(e) => {
                wrong.push(format!("cannot list {base}: {e}"));
                continue;
            }
        };
        for entry in entries.flatten() {
            let dir = Path::new(base).join(entry.file_name());
            let member = workspace.members.iter().any(|(_, d)| *d == dir);
            if root.join(&dir).join("Cargo.toml").is_file() && !member {
                wrong.push(format!("{} is not a workspace member", dir.display()));
            }
        }
    }
    wrong
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(id: &str) -> &'static Day {
        Day::get(id).unwrap()
    }

    #[test]
    fn a_page_s_navigation_line_is_checked_link_by_link() {
        let (d, p, n) = (day("081"), day("080"), day("082"));
        let line = nav_line_for(d, Some(p), Some(n));
        assert_eq!(
            line,
            "*Month 3 · Week 4 · [⬅ Day 080](day-080.md) · [Day 082 ➡](day-082.md) · \
             [Journal index](journal.md)*"
        );
        let page = format!("# Day 081\n\n{line}\n");
        assert!(nav_line(d, Some(p), Some(n), &page).is_empty());
        let stale = page.replace("Day 082 ➡](day-082.md)", "Day 083 ➡](day-083.md)");
        assert_eq!(nav_line(d, Some(p), Some(n), &stale).len(), 1);
        let wrong_week = page.replace("Week 4", "Week 3");
        assert_eq!(nav_line(d, Some(p), Some(n), &wrong_week).len(), 1);
    }

    #[test]
    fn summary_and_journal_rows_are_exact() {
        let d = day("093");
        assert!(
            summary_entry(d, "- [Day 093 — compare before and after](day-093.md)\n").is_empty()
        );
        assert_eq!(
            summary_entry(d, "- [Day 093 — compare](day-093.md)\n").len(),
            1
        );
        let row = "| 093 | Month 4 · Week 2 | [compare before and after](day-093.md) | \
                   `cargo test -p lab-093` | ⬜ |";
        assert!(journal_row(d, row).is_empty());
        assert_eq!(journal_row(d, &row.replace("Week 2", "Week 1")).len(), 1);
    }

    #[test]
    fn cargo_metadata_is_read_into_members_and_defaults() {
        let json = br#"{"packages":[
            {"id":"a 1","name":"lab-080","manifest_path":"/w/labs/lab-080/Cargo.toml"},
            {"id":"b 1","name":"solution-080","manifest_path":"/w/solutions/solution-080/Cargo.toml"}],
            "workspace_members":["a 1","b 1"],"workspace_default_members":["b 1"]}"#;
        let w = Workspace::parse(Path::new("/w"), json).unwrap();
        assert!(w.package_at("lab-080", Path::new("labs/lab-080")));
        assert_eq!(w.defaults, [PathBuf::from("solutions/solution-080")]);
        assert!(packages(day("080"), &w).is_empty());
        let err = Workspace::parse(Path::new("/w"), b"{}").err().unwrap();
        assert!(err.contains("workspace_members"), "{err}");
    }

    #[test]
    fn an_unreadable_file_is_named_not_read_as_empty() {
        let err = read(Path::new("/no/such/SUMMARY.md")).unwrap_err();
        assert!(err.contains("/no/such/SUMMARY.md"), "{err}");
    }
}
