//! loadgen against the real service: every request the schedule sends is
//! counted, answered or not, and the percentiles are over all of them.

use std::path::Path;

use selfcheck::OrFail;
use workbook::days::day089;

#[test]
fn loadgen_counts_every_request_it_sends() {
    let _machine = selfcheck::one_at_a_time();
    let dir = selfcheck::scratch();
    let (service, addr) = day089::start(
        selfcheck::launch,
        Path::new(selfcheck::program!()),
        dir.path(),
    )
    .or_fail();
    let addr = addr.to_string();
    let plan = loadgen::parse([
        "loadgen",
        "--scenario",
        "high",
        "--duration",
        "2",
        "--addr",
        &addr,
    ])
    .unwrap();
    let report = loadgen::run(&plan);
    eprintln!("{report}");
    assert_eq!(plan.total(), 100);
    assert_eq!(report.sent() as u64, plan.total(), "{report}");
    assert_eq!(report.unsent, 0, "{report}");
    assert_eq!(
        report.answered() + report.failed(),
        report.sent(),
        "{report}"
    );
    // The service is there and bounded: it answers every request, 202 or
    // 503, and never drops one.
    assert_eq!(report.failed(), 0, "{report}");
    assert_eq!(report.verdict(plan.addr), None, "{report}");
    assert!(report.accepted > 0, "{report}");
    drop(service);
}
