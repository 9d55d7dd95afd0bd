// Links libllama3.so from $LLAMA3_LIB_DIR (e.g. build/lib); otherwise from where pkg-config's
// llama3.pc says it is installed, or from the linker's default search path (/usr/local/lib, /usr/lib).
fn main() {
    println!("cargo:rerun-if-env-changed=LLAMA3_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    if let Ok(dir) = std::env::var("LLAMA3_LIB_DIR") {
        println!("cargo:rustc-link-search=native={dir}");
    } else if let Some(dir) = pkg_config_libdir() {
        println!("cargo:rustc-link-search=native={dir}");
    }
    println!("cargo:rustc-link-lib=dylib=llama3");
}

// `pkg-config --variable=libdir llama3`, when pkg-config and an installed llama3.pc are there.
fn pkg_config_libdir() -> Option<String> {
    let output = std::process::Command::new("pkg-config")
        .args(["--variable=libdir", "llama3"])
        .output()
        .ok()?;
    let dir = String::from_utf8(output.stdout).ok()?.trim().to_string();
    (output.status.success() && !dir.is_empty()).then_some(dir)
}
