//! The summary rows every benchmark prints beside its own output; `scripts/bench.sh` gathers them
//! into one table at the end.

/// One row of the summary: what was measured, its figure, and the target it is held to.
pub fn row(what: &str, figure: impl std::fmt::Display, target: &str) {
    println!("row:\t{what}\t{figure}\t{target}");
}
