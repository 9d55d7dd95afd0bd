//! The safety layer (docs/safety.md): the insecure-code scanner and the Llama Guard classifier,
//! on their own (results as the C ABI's JSON text) and as generate-time filters through
//! [`crate::GenerateOptions`]. A clone is another handle on the same scanner or guard.
use crate::{c_string, check, fill_buffer, Model, Result};
use llama3_sys as sys;
use std::ffi::CString;
use std::os::raw::c_char;
use std::ptr;
use std::sync::Arc;

/// Insecure-code rules; immutable, shareable between threads.
#[derive(Clone, Debug)]
pub struct CodeScanner {
    handle: Arc<ScannerHandle>,
}

#[derive(Debug)]
struct ScannerHandle(*mut sys::llama3_code_scanner);

unsafe impl Send for ScannerHandle {}
unsafe impl Sync for ScannerHandle {}

impl Drop for ScannerHandle {
    fn drop(&mut self) {
        unsafe { sys::llama3_code_scanner_free(self.0) }
    }
}

impl CodeScanner {
    /// The rules built into the library.
    pub fn builtin() -> Result<CodeScanner> {
        Self::create(ptr::null())
    }

    /// Rules in the library's JSON format (`ErrorKind::BadFormat` naming the rule at fault).
    pub fn from_rules_json(rules_json: &str) -> Result<CodeScanner> {
        let rules = c_string(rules_json)?;
        Self::create(rules.as_ptr())
    }

    fn create(rules: *const c_char) -> Result<CodeScanner> {
        let mut raw = ptr::null_mut();
        unsafe { check(sys::llama3_code_scanner_create(rules, &mut raw))? };
        Ok(CodeScanner {
            handle: Arc::new(ScannerHandle(raw)),
        })
    }

    /// Scans `code` in `language` ("" for every language's rules), or with `markdown` each fenced
    /// block with its fence's language. Returns the JSON text
    /// `{"treatment": ..., "findings": [{"rule_id", "cwe_id", "severity", ...}]}`.
    pub fn scan(&self, code: &str, language: &str, markdown: bool) -> Result<String> {
        let language = c_string(language)?;
        let bytes = fill_buffer::<u8>(1, |buffer, capacity, needed| unsafe {
            sys::llama3_code_scan(
                self.raw(),
                code.as_ptr() as *const c_char,
                code.len(),
                language.as_ptr(),
                markdown as i32,
                buffer as *mut c_char,
                capacity,
                needed,
            )
        })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub(crate) fn raw(&self) -> *mut sys::llama3_code_scanner {
        self.handle.0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardVersion {
    /// From the model's metadata (general.name, ...).
    Auto,
    Guard2,
    Guard3,
    Guard3_1B,
}

/// How a [`Guard`] runs; the defaults are the library's (llama3_guard_params_init).
#[derive(Clone, Debug)]
pub struct GuardOptions {
    pub version: GuardVersion,
    /// On P(unsafe) of the first generated token.
    pub threshold: f32,
    pub max_new_tokens: i32,
    pub n_threads: i32,
    pub n_ctx: i32,
}

impl Default for GuardOptions {
    fn default() -> Self {
        let mut raw = unsafe { std::mem::zeroed::<sys::llama3_guard_params>() };
        unsafe { sys::llama3_guard_params_init(&mut raw) };
        GuardOptions {
            version: GuardVersion::Auto,
            threshold: raw.threshold,
            max_new_tokens: raw.max_new_tokens,
            n_threads: raw.n_threads,
            n_ctx: raw.n_ctx,
        }
    }
}

/// A Llama Guard 2/3 classifier over a loaded Guard model. Threads sharing one (and the
/// generations whose filters use it) take turns on it.
#[derive(Clone, Debug)]
pub struct Guard {
    handle: Arc<GuardHandle>,
}

#[derive(Debug)]
struct GuardHandle(*mut sys::llama3_guard);

// The C guard serialises its users with a lock of its own.
unsafe impl Send for GuardHandle {}
unsafe impl Sync for GuardHandle {}

impl Drop for GuardHandle {
    fn drop(&mut self) {
        unsafe { sys::llama3_guard_free(self.0) }
    }
}

impl Guard {
    /// `ErrorKind::InvalidArgument` when the version cannot be told from the metadata or the
    /// threshold is outside [0, 1].
    pub fn new(model: &Model, options: &GuardOptions) -> Result<Guard> {
        let mut params = unsafe { std::mem::zeroed::<sys::llama3_guard_params>() };
        unsafe { check(sys::llama3_guard_params_init(&mut params))? };
        params.version = match options.version {
            GuardVersion::Auto => sys::LLAMA3_GUARD_AUTO,
            GuardVersion::Guard2 => sys::LLAMA3_GUARD_2,
            GuardVersion::Guard3 => sys::LLAMA3_GUARD_3,
            GuardVersion::Guard3_1B => sys::LLAMA3_GUARD_3_1B,
        };
        params.threshold = options.threshold;
        params.max_new_tokens = options.max_new_tokens;
        params.n_threads = options.n_threads;
        params.n_ctx = options.n_ctx;
        let mut raw = ptr::null_mut();
        unsafe { check(sys::llama3_guard_create(model.raw(), &params, &mut raw))? };
        Ok(Guard {
            handle: Arc::new(GuardHandle(raw)),
        })
    }

    /// Classifies the last of `turns` (role "user" or "assistant", content). Returns the JSON
    /// text `{"verdict": "safe"|"unsafe"|"malformed", "categories": [...], ...}`.
    pub fn classify(&self, turns: &[(&str, &str)]) -> Result<String> {
        let owned: Vec<(CString, CString)> = turns
            .iter()
            .map(|&(role, content)| Ok((c_string(role)?, c_string(content)?)))
            .collect::<Result<_>>()?;
        let messages: Vec<sys::llama3_chat_message> = owned
            .iter()
            .map(|(role, content)| sys::llama3_chat_message {
                role: role.as_ptr(),
                content: content.as_ptr(),
            })
            .collect();
        // Each call runs the model, so a buffer that is almost always large enough comes first.
        let mut buffer = vec![0u8; 4096];
        loop {
            let mut needed = 0usize;
            let status = unsafe {
                sys::llama3_guard_classify(
                    self.raw(),
                    messages.as_ptr(),
                    messages.len(),
                    buffer.as_mut_ptr() as *mut c_char,
                    buffer.len(),
                    &mut needed,
                )
            };
            if status == sys::LLAMA3_ERR_BUFFER_TOO_SMALL {
                buffer.resize(needed + 1, 0);
                continue;
            }
            check(status)?;
            buffer.truncate(needed);
            return Ok(String::from_utf8_lossy(&buffer).into_owned());
        }
    }

    pub(crate) fn raw(&self) -> *mut sys::llama3_guard {
        self.handle.0
    }
}
