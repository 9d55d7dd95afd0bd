//! What the integration tests share: ctest names the data files in LLAMA3_* variables, and a test
//! whose file is missing prints why and returns.
use std::env;
use std::path::Path;

pub fn data(variable: &str) -> Option<String> {
    let value = env::var(variable).ok()?;
    if Path::new(&value).exists() {
        Some(value)
    } else {
        eprintln!("skipping: {variable} ({value}) is missing");
        None
    }
}
