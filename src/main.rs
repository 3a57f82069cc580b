//! The `govfeeds` command: everything lives in the library; see [`govfeeds::cli`].

/// mimalloc: markedly faster than the system allocator for the many small, short-lived
/// allocations of HTTP request handling.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    govfeeds::cli::main()
}
