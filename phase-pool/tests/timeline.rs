//! `Profile::draw_timeline`: a profiled pool's phases drawn as a PNG of the promised size, and
//! the errors for a profile with nothing to draw.
#![cfg(feature = "plot")]

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::time::Duration;

use phase_pool::profile::PlotError;
use phase_pool::{PhasePool, Placement, Profile};

/// Ten data-parallel phases in which worker 2's share (the last third, by the static
/// schedule) sleeps, a serial section, then a run of three collectives in which worker 2
/// sleeps before each.
fn uneven_profile() -> Profile {
    let pool = PhasePool::builder()
        .threads(3)
        .placement(Placement::None)
        .profile(true)
        .build()
        .unwrap();
    pool.set_label(Some("uneven"));
    for _ in 0..10 {
        pool.for_each_index(0..30, |index| {
            if index >= 20 {
                std::thread::sleep(Duration::from_micros(100));
            }
        });
    }
    pool.serial("serial", || std::thread::sleep(Duration::from_micros(300)));
    pool.set_label(Some("run"));
    pool.run(|ctx| {
        for _ in 0..3 {
            if ctx.index() == 2 {
                std::thread::sleep(Duration::from_micros(500));
            }
            ctx.sync();
        }
    });
    let profile = pool.profile();
    assert_eq!(profile.phases().len(), 12);
    profile
}

fn temp_png(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("phase-pool-{name}-{}.png", std::process::id()))
}

#[test]
fn draws_a_png_of_the_promised_size() {
    let path = temp_png("timeline");
    uneven_profile().draw_timeline(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let reader = png::Decoder::new(BufReader::new(File::open(&path).unwrap()))
        .read_info()
        .unwrap();
    let info = reader.info();
    assert_eq!((info.width, info.height), (1400, 900));
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn a_profile_with_nothing_to_draw_says_why() {
    let path = temp_png("nothing");
    let off = PhasePool::builder()
        .threads(2)
        .placement(Placement::None)
        .profile(false)
        .build()
        .unwrap();
    off.for_each_index(0..4, |_| {});
    let error = off.profile().draw_timeline(&path).unwrap_err();
    assert!(matches!(error, PlotError::Disabled), "{error:?}");
    assert!(error.to_string().contains("disabled"), "{error}");

    let on = PhasePool::builder()
        .threads(2)
        .placement(Placement::None)
        .profile(true)
        .build()
        .unwrap();
    let error = on.profile().draw_timeline(&path).unwrap_err();
    assert!(matches!(error, PlotError::Empty), "{error:?}");
    assert!(error.to_string().contains("no phases"), "{error}");
    assert!(!path.exists(), "nothing is written");
}
