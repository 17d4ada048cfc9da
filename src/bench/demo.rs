//! The demo case: `strata lab demo` (the Plone stack on 5 systemd hosts) timed twice, cold
//! and warm. Cold removes the package caches first, so they are downloaded again from
//! Debian's mirrors and PyPI as on a fresh machine; warm reuses them. Both start from new
//! hosts and an empty stack state, as the demo always does. The targets (6 and 3 minutes on
//! 2 cores) are printed beside the figures, not asserted.

use std::path::Path;
use std::time::Instant;

use super::BenchError;
use crate::demo::{self, DemoOptions};
use crate::lab::cache::{self, CacheOptions};
use crate::lab::{self, Demo, LabOptions};

const COLD_TARGET_SECS: f64 = 360.0;
const WARM_TARGET_SECS: f64 = 180.0;

pub async fn bench(lab: &LabOptions, cache_dir: &Path) -> Result<(), BenchError> {
    // Checked before the caches go: run from anywhere else, the bench would only destroy.
    if !Path::new(Demo::STACK).is_file() {
        return Err(BenchError::Stack(format!(
            "{} not found: run `strata bench --case demo` from the root of strata's checkout",
            Demo::STACK
        )));
    }
    let opts = DemoOptions {
        lab: lab.clone(),
        cache: CacheOptions {
            dir: cache_dir.to_path_buf(),
            ..CacheOptions::default()
        },
        exe: std::env::current_exe().map_err(super::io("cannot find the strata binary"))?,
        verbose_sync: false,
    };
    eprintln!("cold: removing the caches in {}", opts.cache.dir.display());
    cache::clear(&opts.cache.dir).map_err(|e| BenchError::Stack(e.to_string()))?;
    let mut times = Vec::new();
    for label in ["cold", "warm"] {
        let start = Instant::now();
        let outcome = demo::plone(&opts).await.map_err(|e| {
            e.report();
            BenchError::Stack(format!("the {label} demo failed: {e}"))
        })?;
        let secs = start.elapsed().as_secs_f64();
        eprintln!("{label}: {secs:.1}s, site title {:?}", outcome.title);
        times.push(secs);
    }
    let _ = lab::down(lab);
    println!(
        "demo cold {:.1}s (target < {COLD_TARGET_SECS:.0}s), warm {:.1}s (target < {WARM_TARGET_SECS:.0}s)",
        times[0], times[1]
    );
    Ok(())
}
