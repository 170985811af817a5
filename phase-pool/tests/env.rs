//! The environment overrides. One test: the environment is process-wide, so its steps must not
//! run concurrently with each other.

use phase_pool::{BuildError, PhasePool, Placement, NUM_THREADS_ENV, PLACEMENT_ENV};

#[test]
fn environment_overrides_defaults_and_the_builder_overrides_it() {
    let default = PhasePool::builder()
        .placement(Placement::None)
        .build()
        .unwrap();
    assert!(default.num_threads() >= 1);
    drop(default);

    std::env::set_var(NUM_THREADS_ENV, "3");
    let pool = PhasePool::builder()
        .placement(Placement::None)
        .build()
        .unwrap();
    assert_eq!(pool.num_threads(), 3);
    let pool = PhasePool::builder()
        .threads(2)
        .placement(Placement::None)
        .build()
        .unwrap();
    assert_eq!(pool.num_threads(), 2);

    std::env::set_var(NUM_THREADS_ENV, "0");
    let error = PhasePool::builder().build().unwrap_err();
    assert_eq!(
        error,
        BuildError::InvalidNumThreadsEnv { value: "0".into() }
    );
    assert!(
        error.to_string().contains("LOCKSTEP_NUM_THREADS=\"0\""),
        "{error}"
    );
    std::env::set_var(NUM_THREADS_ENV, "lots");
    assert!(matches!(
        PhasePool::builder().build(),
        Err(BuildError::InvalidNumThreadsEnv { .. })
    ));
    // The builder's own setting means the environment is not read.
    assert!(PhasePool::builder()
        .threads(2)
        .placement(Placement::None)
        .build()
        .is_ok());
    std::env::remove_var(NUM_THREADS_ENV);

    std::env::set_var(PLACEMENT_ENV, "0,0,0");
    let pool = PhasePool::builder().threads(2).build().unwrap();
    assert_eq!(pool.cores(), [Some(0), Some(0)]);
    std::env::set_var(PLACEMENT_ENV, "diagonal");
    let error = PhasePool::builder().threads(2).build().unwrap_err();
    assert_eq!(
        error,
        BuildError::InvalidPlacementEnv {
            value: "diagonal".into()
        }
    );
    assert!(error.to_string().contains("compact, spread, none"));
    assert!(PhasePool::builder()
        .threads(2)
        .placement(Placement::Spread)
        .build()
        .is_ok());
    std::env::remove_var(PLACEMENT_ENV);

    std::env::set_var(barrier_core::WAIT_POLICY_ENV, "sometimes");
    let error = PhasePool::builder()
        .threads(2)
        .placement(Placement::None)
        .build()
        .unwrap_err();
    assert!(matches!(error, BuildError::Barrier(_)), "{error:?}");
    assert!(std::error::Error::source(&error).is_some());
    std::env::remove_var(barrier_core::WAIT_POLICY_ENV);

    std::env::set_var(barrier_core::PROFILE_ENV, "1");
    let pool = PhasePool::builder().threads(2).build().unwrap();
    pool.for_each_index(4, |_| {});
    assert_eq!(
        pool.profile().phases().len(),
        1,
        "LOCKSTEP_PROFILE=1 profiles"
    );
    let off = PhasePool::builder()
        .threads(2)
        .profile(false)
        .build()
        .unwrap();
    assert!(!off.profile().is_enabled(), "the builder's choice wins");
    std::env::set_var(barrier_core::PROFILE_ENV, "maybe");
    let error = PhasePool::builder().threads(2).build().unwrap_err();
    assert_eq!(
        error,
        BuildError::InvalidProfileEnv {
            value: "maybe".into()
        }
    );
    assert!(error.to_string().contains("LOCKSTEP_PROFILE"), "{error}");
    std::env::remove_var(barrier_core::PROFILE_ENV);
    assert!(!PhasePool::new(1).profile().is_enabled(), "off by default");
}
