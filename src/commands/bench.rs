//! `strata bench`: options in, the benchmark library runs and prints its figures.

use crate::bench::{self, BenchOptions};
use crate::cli::BenchArgs;
use crate::exit::ExitCode;
use crate::lab::LabOptions;

pub async fn run(args: BenchArgs) -> ExitCode {
    let opts = BenchOptions {
        hosts: args.hosts,
        runs: args.runs,
        case: args.case,
        lab: LabOptions {
            name: args.lab,
            dir: args.dir,
        },
        cache_dir: args.cache_dir,
    };
    match bench::bench(&opts).await {
        Ok(()) => ExitCode::Ok,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::Error
        }
    }
}
