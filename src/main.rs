use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(themeshift::cli::run_command_line(std::env::args_os()))
}
