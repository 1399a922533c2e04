//! A red self-check asks; it never tells. The symptom and the first hint
//! of every day are free of the fix: no identifier that the solution's code
//! adds and the lab's code lacks (the names a learner would otherwise copy
//! from the hint) appears in them. The third hint, the fix, names at least
//! one of them, so the test cannot pass by finding none.

use std::collections::BTreeSet;

use workbook::DAYS;

/// The identifiers in `source`'s code, comments and the words inside
/// string literals (messages, not names) left out.
fn identifiers(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in source.lines() {
        let code = line.split("//").next().unwrap_or("");
        // Every other piece between quotes is a literal's text.
        let code: String = code.split('"').step_by(2).collect::<Vec<_>>().join(" ");
        for word in code.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if word.len() >= 4 && !word.chars().next().unwrap().is_ascii_digit() {
                names.insert(word.to_string());
            }
        }
    }
    names
}

/// The code of each line, trimmed, comments left out; blank lines dropped.
fn code_lines(source: &str) -> Vec<String> {
    source
        .lines()
        .map(|l| l.split("//").next().unwrap_or("").trim().to_string())
        .filter(|l| l.len() >= 12)
        .collect()
}

/// Whether `text` holds `name` as a whole word.
fn mentions(text: &str, name: &str) -> bool {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|w| w == name)
}

fn main_rs(dir: &std::path::Path) -> String {
    let path = workbook::root().join(dir).join("src/main.rs");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_symptom_and_the_first_hint_do_not_give_the_fix_away() {
    for day in DAYS {
        let lab = identifiers(&main_rs(&day.lab_dir()));
        let solution = identifiers(&main_rs(&day.solution_dir()));
        let fix: Vec<&String> = solution.difference(&lab).collect();
        for (what, text) in [("symptom", day.symptom), ("first hint", day.hints[0])] {
            let given: Vec<&&String> = fix.iter().filter(|n| mentions(text, n)).collect();
            assert!(
                given.is_empty(),
                "Day {}'s {what} names the fix's {given:?}: {text}",
                day.id
            );
        }
        // A fix that only rearranges names the lab already has (Day 091's
        // `black_box`) is named by one of its changed lines instead.
        let lab_lines = code_lines(&main_rs(&day.lab_dir()));
        let changed: Vec<String> = code_lines(&main_rs(&day.solution_dir()))
            .into_iter()
            .filter(|l| !lab_lines.contains(l))
            .collect();
        assert!(
            fix.iter().any(|n| mentions(day.hints[2], n))
                || changed.iter().any(|l| day.hints[2].contains(l.as_str())),
            "Day {}'s last hint names none of the fix's identifiers {fix:?}: {}",
            day.id,
            day.hints[2]
        );
    }
}

#[test]
fn every_day_has_three_distinct_hints_that_end_in_the_fix() {
    for day in DAYS {
        let [ask, concept, fix] = day.hints;
        assert!(
            ask.contains('?'),
            "Day {}'s first hint asks nothing: {ask}",
            day.id
        );
        assert!(
            ask != concept && concept != fix && ask != fix,
            "Day {}'s hints repeat",
            day.id
        );
    }
}
