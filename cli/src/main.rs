//! `lifeboat`: every Lifeboat task, run locally against a plan. See `lifeboat --help`.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    lifeboat_cli::main(std::env::args_os()).await
}
