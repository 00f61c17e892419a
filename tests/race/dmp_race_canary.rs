// SPDX-License-Identifier: GPL-2.0

//! A deliberate data race in Rust, for `make test-race` (tests/race-run): loading this
//! module must make KCSAN report a race with frames in `[dmp_race_canary]`, which shows
//! that the race kernel instruments Rust code (scripts/race-kernel.patch) and that the
//! lane finds and sorts the reports. It is test code, built only for that kernel, never
//! shipped.

use core::{
    cell::UnsafeCell,
    hint::black_box,
    sync::atomic::{AtomicBool, Ordering},
};
use kernel::{prelude::*, processor::cpu_relax, workqueue};

module! {
    type: Canary,
    name: "dmp_race_canary",
    authors: ["dmp developers"],
    description: "A deliberate data race, for KCSAN (make test-race)",
    license: "GPL",
}

/// The racy counter: plain reads and writes from two threads, nothing to order them.
struct Shared(UnsafeCell<u64>);

// SAFETY: It is not: the race is the point. Both sides only add to a `u64`, so the race
// loses increments and harms nothing else.
unsafe impl Sync for Shared {}

static SHARED: Shared = Shared(UnsafeCell::new(0));
static STARTED: AtomicBool = AtomicBool::new(false);
static STOP: AtomicBool = AtomicBool::new(false);
static DONE: AtomicBool = AtomicBool::new(false);

/// Adds one to the counter with a plain read and a plain write, which the compiler keeps
/// (`black_box`) and KCSAN watches.
#[inline(never)]
fn racy_increment() {
    let p = black_box(SHARED.0.get());
    // SAFETY: `p` points to a static `u64`; the other thread's concurrent access is the
    // deliberate data race, harmless for a counter nobody relies on.
    unsafe { *p += 1 };
}

struct Canary;

impl kernel::Module for Canary {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        workqueue::system_unbound().try_spawn(GFP_KERNEL, || {
            STARTED.store(true, Ordering::Release);
            while !STOP.load(Ordering::Acquire) {
                racy_increment();
            }
            DONE.store(true, Ordering::Release);
        })?;
        while !STARTED.load(Ordering::Acquire) {
            cpu_relax();
        }
        for _ in 0..1_000_000 {
            racy_increment();
        }
        STOP.store(true, Ordering::Release);
        while !DONE.load(Ordering::Acquire) {
            cpu_relax();
        }
        pr_info!("raced\n");
        Ok(Canary)
    }
}
