use std::process::ExitCode;

fn main() -> ExitCode {
    themeshift::cli::stop_on_signals();
    ExitCode::from(themeshift::cli::run_command_line(std::env::args_os()))
}
