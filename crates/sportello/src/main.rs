//! `sportello`: see `sportello --help`.

fn main() -> std::process::ExitCode {
    sportello::cli::main()
}
