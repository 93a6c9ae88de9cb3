//! The `buurtcirkel` binary: parse arguments, run, map an error to an exit code.
#![forbid(unsafe_code)]

/// mimalloc instead of glibc malloc: the HTTP path allocates a little per request, and under
/// load (cached tiles) glibc's malloc/free showed as ~7% of the server's CPU profile.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    buurtcirkel::cli::main()
}
