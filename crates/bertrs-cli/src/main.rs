//! The `bertrs-cli` command (the code is the crate's library, `src/lib.rs`).

fn main() {
    bertrs_cli::main();
}
