//! The benches' command line: `cargo bench` passes `--bench` (a full run), `cargo test` does not
//! (a small smoke run), and each bench reads its own `--flag value` pairs after `--`.

/// Whether this is a full benchmark run (`cargo bench`), not a smoke run under `cargo test`.
pub fn benching() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// The value after `flag` on the command line, if the flag is there.
pub fn arg(flag: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .cloned()
}
