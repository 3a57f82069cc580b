//! The `govfeeds` command: everything lives in the library; see [`govfeeds::cli`].

fn main() -> std::process::ExitCode {
    govfeeds::cli::main()
}
