// Links libllama3.so from $LLAMA3_LIB_DIR (e.g. build/lib), or from the default search path.
fn main() {
    println!("cargo:rerun-if-env-changed=LLAMA3_LIB_DIR");
    if let Ok(dir) = std::env::var("LLAMA3_LIB_DIR") {
        println!("cargo:rustc-link-search=native={dir}");
    }
    println!("cargo:rustc-link-lib=dylib=llama3");
}
