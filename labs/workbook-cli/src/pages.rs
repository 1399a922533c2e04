//! The journal format of every page, as `workbook check` sees it:
//! the parts a learner relies on from one day to the next. The prose is
//! the writer's; only the landmarks are checked.

/// What a page must hold, with the words a failure names it by.
const LANDMARKS: &[(&str, &str)] = &[
    ("*Month ", "a Month · Week line under the title"),
    ("[Journal index](journal.md)", "a link to the journal index"),
    (
        "| exercise | status | command |",
        "a Status column in its Exercises table",
    ),
    (
        "<details><summary>Show the fix</summary>",
        "the fix behind Show the fix",
    ),
    (
        "### 🔮 Predict first",
        "a Predict first section before the expected outcome",
    ),
    ("**Suggested commit:** `", "a Suggested commit line"),
];

/// The landmarks `page` lacks, and whether the solution's fix comes after
/// the exercises (the learner tries first; a note may hide a hint behind
/// Show the fix earlier, but the fix itself follows the exercises).
pub fn missing(page: &str) -> Vec<String> {
    let mut missing: Vec<String> = LANDMARKS
        .iter()
        .filter(|(text, _)| !page.contains(text))
        .map(|(_, what)| what.to_string())
        .collect();
    let exercises = page.find("## 🏋️ Exercises");
    let fix = page.rfind("<details><summary>Show the fix</summary>");
    if let (Some(e), Some(f)) = (exercises, fix)
        && f < e
    {
        missing.push("the fix after the exercises, not before".into());
    }
    if let Some(e) = exercises
        && solution_code_in_the_open(&page[..e])
    {
        missing.push("the solution's code hidden behind Show the fix until the exercises".into());
    }
    missing.extend(shown_before_asked(page));
    missing
}

/// Where `page` shows evidence before it has asked: a learner predicts,
/// then opens. The prediction comes before the expected outcome; every
/// output (a `text` block, a `console` block with more than commands)
/// before the exercises, and the lab's symptom, sit folded in `<details>`;
/// no prediction is left for Active recall, after everything was shown.
fn shown_before_asked(page: &str) -> Vec<String> {
    let mut wrong = Vec::new();
    let predict = page.find("### 🔮 Predict first");
    let expected = page.find("### The expected");
    if let (Some(p), Some(e)) = (predict, expected)
        && e < p
    {
        wrong.push("the prediction before the expected outcome, not after".into());
    }
    let exercises = page.find("## 🏋️ Exercises").unwrap_or(page.len());
    let mut depth = 0usize;
    let mut lines = page[..].lines();
    let mut at = 0usize;
    while let Some(line) = lines.next() {
        let start = at;
        at += line.len() + 1;
        let fence = line.trim_start();
        if fence.starts_with("```") {
            let mut block = Vec::new();
            for inner in lines.by_ref() {
                at += inner.len() + 1;
                if inner.trim() == "```" {
                    break;
                }
                block.push(inner.trim());
            }
            let output = fence.starts_with("```text")
                || (fence.starts_with("```console")
                    && block.iter().any(|l| !l.is_empty() && !l.starts_with('$')));
            let symptom = block.iter().any(|l| l.contains("registry.rs:symptom-"));
            if depth == 0 && ((output && start < exercises) || symptom) {
                let what = if symptom {
                    "the lab's symptom"
                } else {
                    "output"
                };
                let first = block.first().copied().unwrap_or("");
                wrong.push(format!(
                    "{what} folded in <details> until it is asked for: {first}"
                ));
            }
            continue;
        }
        depth += line.matches("<details").count();
        depth = depth.saturating_sub(line.matches("</details>").count());
    }
    if let Some(recall) = page.find("## 🧠 Active recall") {
        let end = page[recall + 1..]
            .find("\n## ")
            .map_or(page.len(), |e| recall + 1 + e);
        if page[recall..end].contains("Predict the summary") {
            wrong.push("a prediction asked before the evidence, not in Active recall".into());
        }
    }
    wrong
}

/// Whether `text` includes a solution's source outside a `<details>` block
/// (its snapshot, the expected output, may be shown anywhere).
fn solution_code_in_the_open(text: &str) -> bool {
    let mut depth = 0usize;
    for line in text.lines() {
        depth += line.matches("<details>").count();
        if line.contains("{{#include ../solutions/") && line.contains("/src/") && depth == 0 {
            return true;
        }
        depth = depth.saturating_sub(line.matches("</details>").count());
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "# Day 1\n\n*Month 3 · Week 4 · [Journal index](journal.md)*\n\n\
        ### 🔮 Predict first\n\nPredict the summary before you run it: ?\n\n\
        ### The expected profile\n\n<details><summary>Open it</summary>\n\n\
        ```text\ncpu profile\n```\n\n</details>\n\n\
        ## 🏋️ Exercises\n\n| exercise | status | command |\n\n\
        <details><summary>What the self-check says</summary>\n\n\
        ```rust,ignore\n{{#include ../labs/workbook/src/registry.rs:symptom-001}}\n```\n\n</details>\n\n\
        <details><summary>Show the fix</summary>\n\n</details>\n\n\
        ## 🧠 Active recall\n\n1. Why?\n\n\
        **Suggested commit:** `fix: x`\n";

    #[test]
    fn a_whole_page_passes_and_each_missing_landmark_is_named() {
        assert!(missing(PAGE).is_empty(), "{:?}", missing(PAGE));
        let without = PAGE.replace("| exercise | status | command |", "| exercise | command |");
        assert_eq!(
            missing(&without),
            ["a Status column in its Exercises table"]
        );
        let without = PAGE.replace("**Suggested commit:**", "Commit:");
        assert_eq!(missing(&without), ["a Suggested commit line"]);
    }

    #[test]
    fn a_page_asks_before_it_shows() {
        let late = PAGE
            .replace("### 🔮 Predict first\n\nPredict the summary before you run it: ?\n\n", "")
            .replace(
                "## 🧠 Active recall\n\n",
                "## 🧠 Active recall\n\n### 🔮 Predict first\n\nPredict the summary before you run it: ?\n\n",
            );
        assert_eq!(
            missing(&late),
            [
                "the prediction before the expected outcome, not after",
                "a prediction asked before the evidence, not in Active recall"
            ]
        );
        let open = PAGE
            .replace("<details><summary>Open it</summary>\n\n", "")
            .replacen("</details>\n\n## 🏋️", "\n\n## 🏋️", 1);
        assert_eq!(
            missing(&open),
            ["output folded in <details> until it is asked for: cpu profile"]
        );
        let symptom = PAGE.replace(
            "<details><summary>What the self-check says</summary>\n\n",
            "",
        );
        assert!(
            missing(&symptom).contains(
                &"the lab's symptom folded in <details> until it is asked for: \
                  {{#include ../labs/workbook/src/registry.rs:symptom-001}}"
                    .to_string()
            ),
            "{:?}",
            missing(&symptom)
        );
        // A block of commands only is no evidence; after the exercises,
        // output may be shown.
        let commands = PAGE.replace(
            "## 🏋️ Exercises",
            "```console\n$ cargo run -p lab-001\n```\n\n## 🏋️ Exercises",
        );
        assert!(missing(&commands).is_empty(), "{:?}", missing(&commands));
    }

    #[test]
    fn a_fix_shown_before_the_exercises_is_refused() {
        let fix = "<details><summary>Show the fix</summary>\n\n</details>\n\n";
        let early = PAGE
            .replace(fix, "")
            .replace("## 🏋️ Exercises", &format!("{fix}## 🏋️ Exercises"));
        assert_eq!(missing(&early), ["the fix after the exercises, not before"]);
        // A hint hidden in the notes is fine when the fix still follows.
        let hint = PAGE.replace("## 🏋️ Exercises", &format!("{fix}## 🏋️ Exercises"));
        assert!(missing(&hint).is_empty());
    }

    #[test]
    fn solution_code_before_the_exercises_must_be_hidden() {
        let code = "```rust\n{{#include ../solutions/solution-001/src/main.rs:fix}}\n```\n\n";
        let open = PAGE.replace("## 🏋️ Exercises", &format!("{code}## 🏋️ Exercises"));
        assert_eq!(
            missing(&open),
            ["the solution's code hidden behind Show the fix until the exercises"]
        );
        let hidden = PAGE.replace(
            "## 🏋️ Exercises",
            &format!(
                "<details><summary>Show the fix</summary>\n\n{code}</details>\n\n## 🏋️ Exercises"
            ),
        );
        assert!(missing(&hidden).is_empty(), "{:?}", missing(&hidden));
        // The expected output, a snapshot, is no spoiler.
        let snapshot =
            "{{#include ../solutions/solution-001/snapshots/solution__summary.snap:5:}}\n";
        let shown = PAGE.replace("## 🏋️ Exercises", &format!("{snapshot}## 🏋️ Exercises"));
        assert!(missing(&shown).is_empty(), "{:?}", missing(&shown));
    }
}
