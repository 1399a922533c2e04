//! What each day's profile must show: one module per day, named after its
//! registry id (`day083` for Day 083), with the facts its lab and solution
//! share and its `check`, used three ways:
//!
//! - the lab's `main` calls `report` on what it just wrote, to say what is
//!   wrong with it;
//! - the lab's self-check (`cargo test -p lab-NNN`) fails with its symptom;
//! - the solution's test passes it and snapshots the summary it returns.
//!
//! A module's `DAY` is read from its own name, so the id is typed only in
//! the registry.

pub mod day080;
pub mod day081;
pub mod day082;
pub mod day083;
pub mod day084;
pub mod day085;
pub mod day086;
pub mod day087;
pub mod day088;
pub mod day089;
pub mod day090;
pub mod day091;
pub mod day092;
pub mod day093;
pub mod day094;
pub mod day095;
