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
    /// Measure per-call time, headroom and latency of the engine at each call size.
    Bench(cli::bench::BenchArgs),
    /// Filter live audio: input device -> convolution -> output device.
    #[cfg(feature = "audio-io")]
    Live(cli::live::LiveArgs),
    /// List audio hosts, devices and their supported configurations.
    #[cfg(feature = "audio-io")]
    Devices(cli::devices::DevicesArgs),
    /// Load an IR file or generate a kernel from a spec; print its summary, taps, WAV or plot.
    Kernel(cli::kernel::KernelArgs),
    /// Convolve audio files offline: one file with -o, or many with --out-dir.
    Process(cli::process::ProcessArgs),
    /// Write a synchronized exponential sine sweep (with fades and trailing silence).
    Sweep(cli::sweep::SweepArgs),
    /// Deconvolve a recording of a sweep into impulse responses (and harmonic IRs).
    Deconvolve(cli::sweep::DeconvolveArgs),
    /// Measure a room: play a sweep on the output, record the input, write the IR.
    #[cfg(feature = "audio-io")]
    Measure(cli::measure::MeasureArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Plan(a) => cli::plan::run(a),
        Command::Bench(a) => cli::bench::run(a),
        #[cfg(feature = "audio-io")]
        Command::Live(a) => cli::live::run(a),
        #[cfg(feature = "audio-io")]
        Command::Devices(a) => cli::devices::run(a),
        Command::Kernel(a) => cli::kernel::run(a),
        Command::Process(a) => cli::process::run(a),
        Command::Sweep(a) => cli::sweep::run_sweep(a),
        Command::Deconvolve(a) => cli::sweep::run_deconvolve(a),
        #[cfg(feature = "audio-io")]
        Command::Measure(a) => cli::measure::run(a),
    };
    if let Err(e) = result {
        // A reader that stopped reading (`faltung kernel ... --text | head`): end quietly,
        // with the status of a process that SIGPIPE ended, as C tools do.
        let broken_pipe = e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        });
        if broken_pipe {
            std::process::exit(128 + 13);
        }
        eprintln!("faltung: error: {}", cli::one_line(&e));
        std::process::exit(1);
    }
}
