//! Compiles `c/*.c` with OpenMP when the C compiler supports it and can link its OpenMP
//! runtime, and then sets `cfg(omp_peers_openmp)`. Otherwise nothing is compiled and
//! `OMP_PEERS_MISSING` (read by `available()`) says why; the build never fails for it.
//!
//! `LOCKSTEP_NO_OPENMP=1` builds without OpenMP on purpose, to exercise that path.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A program that needs the OpenMP runtime at link time.
const PROBE: &str =
    "#include <omp.h>\nint main(void) { return omp_get_max_threads() > 0 ? 0 : 1; }\n";

fn main() {
    println!("cargo:rerun-if-changed=c");
    println!("cargo:rerun-if-env-changed=LOCKSTEP_NO_OPENMP");
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-env-changed=CFLAGS");
    let sources = c_sources();
    match openmp_build() {
        Ok((mut build, runtime)) => {
            build.files(&sources).compile("omp_peers");
            if let Some(dir) = runtime.dir {
                println!("cargo:rustc-link-search=native={}", dir.display());
            }
            println!("cargo:rustc-link-lib=dylib={}", runtime.name);
            println!("cargo:rustc-cfg=omp_peers_openmp");
        }
        Err(why) => {
            println!("cargo:warning=omp-peers: built without OpenMP: {why}");
            println!("cargo:rustc-env=OMP_PEERS_MISSING={why}");
        }
    }
}

/// The OpenMP runtime library to link: its name (`gomp`, `omp`) and where the compiler keeps it.
struct Runtime {
    name: &'static str,
    dir: Option<PathBuf>,
}

fn c_sources() -> Vec<PathBuf> {
    let mut sources: Vec<PathBuf> = fs::read_dir("c")
        .expect("omp-peers: the c/ directory is missing")
        .map(|entry| entry.expect("omp-peers: cannot read c/").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "c"))
        .collect();
    sources.sort();
    for source in &sources {
        println!("cargo:rerun-if-changed={}", source.display());
    }
    sources
}

/// A `cc::Build` with OpenMP, and the runtime to link, or why there is none.
fn openmp_build() -> Result<(cc::Build, Runtime), String> {
    if env::var_os("LOCKSTEP_NO_OPENMP").is_some_and(|v| !v.is_empty() && v != "0") {
        return Err("LOCKSTEP_NO_OPENMP is set".into());
    }
    let mut build = cc::Build::new();
    // -O3 and nothing machine-specific; -ffp-contract=off keeps a * b + c two roundings, as in
    // Rust, so the C kernels agree bitwise with the Rust ones wherever the operation order does.
    build
        .opt_level(3)
        .flag("-std=gnu11")
        .flag("-ffp-contract=off")
        .warnings(true);
    match build.is_flag_supported("-fopenmp") {
        Ok(true) => {}
        Ok(false) => return Err("the C compiler does not accept -fopenmp".into()),
        Err(error) => return Err(format!("no usable C compiler ({error})")),
    }
    build.flag("-fopenmp");
    let compiler = build
        .try_get_compiler()
        .map_err(|error| format!("no usable C compiler ({error})"))?;
    let name = if compiler.is_like_clang() {
        "omp"
    } else if compiler.is_like_gnu() {
        "gomp"
    } else {
        return Err(
            "the C compiler is neither gcc nor clang, so its OpenMP runtime is unknown".into(),
        );
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let probe = out.join("openmp_probe.c");
    fs::write(&probe, PROBE).map_err(|error| format!("cannot write the OpenMP probe: {error}"))?;
    let linked = compiler
        .to_command()
        .arg(&probe)
        .arg("-o")
        .arg(out.join("openmp_probe"))
        .output()
        .map_err(|error| format!("cannot run the C compiler: {error}"))?;
    if !linked.status.success() {
        return Err(format!(
            "the C compiler cannot link an OpenMP program (lib{name} missing?)"
        ));
    }
    let dir = runtime_dir(&compiler, name);
    Ok((build, Runtime { name, dir }))
}

/// The directory of `lib<name>.so` as the compiler finds it (`-print-file-name`), for the
/// linker that rustc runs, which may not search the compiler's private library directory.
fn runtime_dir(compiler: &cc::Tool, name: &str) -> Option<PathBuf> {
    let output = Command::new(compiler.path())
        .arg(format!("-print-file-name=lib{name}.so"))
        .output()
        .ok()?;
    let printed = String::from_utf8(output.stdout).ok()?;
    let path = Path::new(printed.trim());
    // An unknown file is printed back as its bare name.
    if path.is_absolute() {
        path.parent().map(Path::to_path_buf)
    } else {
        None
    }
}
