//! The `faltung` command-line tool. Thin: parse, validate, call the library, print.

use clap::{Parser, Subcommand};

mod cli;

#[derive(Parser)]
#[command(
    name = "faltung",
    version,
    about = "Real-time streaming audio convolution"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the plan the engine would choose for an IR length and call size.
    Plan(cli::plan::PlanArgs),
    /// Load an IR file or generate a kernel from a spec; print its summary, taps, WAV or plot.
    Kernel(cli::kernel::KernelArgs),
    /// Convolve WAV files offline: one file with -o, or many with --out-dir.
    Process(cli::process::ProcessArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plan(a) => cli::plan::run(a),
        Command::Kernel(a) => cli::kernel::run(a),
        Command::Process(a) => cli::process::run(a),
    };
    if let Err(e) = result {
        eprintln!("faltung: error: {e:#}");
        std::process::exit(1);
    }
}
