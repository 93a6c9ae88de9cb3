//! The command-line interface.

/// Runs the binary.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
