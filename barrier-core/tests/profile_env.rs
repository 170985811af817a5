//! `LOCKSTEP_PROFILE` switches barrier profiles on where the builder does not choose (its own
//! test binary: the variable is process-wide).

use barrier_core::{Barrier, BuildError, PROFILE_ENV};

#[test]
fn the_environment_decides_unless_the_builder_does() {
    std::env::set_var(PROFILE_ENV, "1");
    let barrier = Barrier::new(1);
    barrier.wait().unwrap();
    assert_eq!(barrier.profile().waits, 1);
    let off = Barrier::builder(1).profile(false).build().unwrap();
    off.wait().unwrap();
    assert!(!off.profile().enabled, "the builder's choice wins");

    std::env::set_var(PROFILE_ENV, "often");
    assert_eq!(
        Barrier::builder(1).build().unwrap_err(),
        BuildError::InvalidProfileEnv {
            value: "often".into()
        }
    );
    assert!(Barrier::builder(1).profile(true).build().is_ok());

    std::env::set_var(PROFILE_ENV, "off");
    assert!(!Barrier::new(1).profile().enabled);
    std::env::remove_var(PROFILE_ENV);
    assert!(!Barrier::new(1).profile().enabled);
}
