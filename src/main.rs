//! The `buurtcirkel` binary: parse arguments, run, map an error to an exit code.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    buurtcirkel::cli::main()
}
