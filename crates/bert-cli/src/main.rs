//! The `bert-cli` command (the code is the crate's library, `src/lib.rs`).

fn main() {
    bert_cli::main();
}
