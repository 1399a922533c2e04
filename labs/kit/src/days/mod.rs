//! What each day's profile must show: one `check` per day, used three ways.
//!
//! - the lab's `main` calls it on what it just wrote, to say what is wrong;
//! - the lab's self-check (`cargo test -p lab-NNN`) fails with its symptom;
//! - the solution's test passes it and snapshots the summary it returns.

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
pub mod day092;
