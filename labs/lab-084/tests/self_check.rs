//! Day 084's self-check: `cargo test -p lab-084`.
//!
//! It runs the lab into a scratch directory and reads what it wrote back.
//! Red while the receipts hold far more memory at the peak than their
//! text needs; green when the summary matches the solution's snapshot.

#[test]
fn receipts_hold_no_more_than_their_text_needs() {
    selfcheck::lab!();
}
