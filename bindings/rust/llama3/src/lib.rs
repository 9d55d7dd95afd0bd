//! Safe Rust binding of the llama3 C ABI (`capi/llama3.h`): RAII handles, `Result` errors and an
//! iterator over generated text.
//!
//! ```no_run
//! use llama3::{Model, Sampler, SamplerParams, GenerateOptions};
//! let model = Model::load("stories260K.gguf")?;
//! let tokenizer = model.tokenizer()?;
//! let prompt = tokenizer.encode("Once upon a time", llama3::ADD_BOS | llama3::PARSE_SPECIAL)?;
//! let mut session = model.session(&Default::default())?;
//! let mut sampler = Sampler::new(&SamplerParams { seed: 42, ..Default::default() })?;
//! session.generate(&prompt, &mut sampler, &GenerateOptions::default(), |piece| {
//!     print!("{piece}");
//!     true // keep going
//! })?;
//! # Ok::<(), llama3::Error>(())
//! ```
//!
//! Thread safety follows the C ABI: `Model` and `Tokenizer` are `Send + Sync`; `Session` and
//! `Sampler` are `Send` (one thread at a time, enforced by `&mut self`).

use llama3_sys as sys;

mod lora;
mod safety;
pub use lora::LoraAdapter;
pub use safety::{CodeScanner, Guard, GuardOptions, GuardVersion};
use std::ffi::{CStr, CString};
use std::fmt;
use std::os::raw::{c_char, c_int, c_void};
use std::path::Path;
use std::ptr;
use std::sync::{mpsc, Arc};
use std::thread;

pub type Token = i32;

pub const ADD_BOS: u32 = sys::LLAMA3_TOKENIZE_ADD_BOS;
pub const ADD_EOS: u32 = sys::LLAMA3_TOKENIZE_ADD_EOS;
pub const PARSE_SPECIAL: u32 = sys::LLAMA3_TOKENIZE_PARSE_SPECIAL;
pub const RENDER_SPECIAL: u32 = sys::LLAMA3_DETOKENIZE_RENDER_SPECIAL;

/// What went wrong: the code shared with the C ABI and the C++ library, and the library's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidArgument,
    Io,
    BadFormat,
    Unsupported,
    OutOfMemory,
    ContextFull,
    Cancelled,
    Blocked,
    Internal,
    BufferTooSmall,
    Unknown(i32),
}

impl ErrorKind {
    fn from_status(status: c_int) -> ErrorKind {
        match status {
            sys::LLAMA3_ERR_INVALID_ARGUMENT => ErrorKind::InvalidArgument,
            sys::LLAMA3_ERR_IO => ErrorKind::Io,
            sys::LLAMA3_ERR_BAD_FORMAT => ErrorKind::BadFormat,
            sys::LLAMA3_ERR_UNSUPPORTED => ErrorKind::Unsupported,
            sys::LLAMA3_ERR_OUT_OF_MEMORY => ErrorKind::OutOfMemory,
            sys::LLAMA3_ERR_CONTEXT_FULL => ErrorKind::ContextFull,
            sys::LLAMA3_ERR_CANCELLED => ErrorKind::Cancelled,
            sys::LLAMA3_ERR_BLOCKED => ErrorKind::Blocked,
            sys::LLAMA3_ERR_INTERNAL => ErrorKind::Internal,
            sys::LLAMA3_ERR_BUFFER_TOO_SMALL => ErrorKind::BufferTooSmall,
            other => ErrorKind::Unknown(other),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

fn check(status: c_int) -> Result<()> {
    if status == sys::LLAMA3_OK {
        return Ok(());
    }
    // SAFETY: the C ABI returns a NUL-terminated thread-local string.
    let message = unsafe { CStr::from_ptr(sys::llama3_last_error_message()) }
        .to_string_lossy()
        .into_owned();
    Err(Error {
        kind: ErrorKind::from_status(status),
        message,
    })
}

fn invalid(message: &str) -> Error {
    Error {
        kind: ErrorKind::InvalidArgument,
        message: message.to_string(),
    }
}

fn c_string(text: &str) -> Result<CString> {
    CString::new(text).map_err(|_| invalid("string contains a NUL byte"))
}

fn c_path(path: &Path) -> Result<CString> {
    c_string(path.to_str().ok_or_else(|| invalid("path is not UTF-8"))?)
}

/// Runs a "buffer too small -> required size" C call twice: once to size, once to fill.
fn fill_buffer<T: Default + Clone>(
    extra: usize,
    mut call: impl FnMut(*mut T, usize, *mut usize) -> c_int,
) -> Result<Vec<T>> {
    let mut needed = 0usize;
    let status = call(ptr::null_mut(), 0, &mut needed);
    if status != sys::LLAMA3_ERR_BUFFER_TOO_SMALL {
        check(status)?;
    }
    let mut buffer = vec![T::default(); needed + extra];
    let capacity = buffer.len();
    check(call(buffer.as_mut_ptr(), capacity, &mut needed))?;
    buffer.truncate(needed);
    Ok(buffer)
}

/// The library version at run time, "MAJOR.MINOR.PATCH".
pub fn version() -> String {
    // SAFETY: static NUL-terminated string.
    unsafe { CStr::from_ptr(sys::llama3_version_string()) }
        .to_string_lossy()
        .into_owned()
}

/// True when the loaded library is the version these declarations were written for.
pub fn version_matches() -> bool {
    unsafe { sys::llama3_version() == sys::LLAMA3_VERSION_NUMBER }
}

// ---- model ----

/// A loaded model: immutable, shareable between threads. Sessions keep the weights alive, and a
/// clone is another handle on the same weights (as a draft model in [`GenerateOptions`]).
#[derive(Clone, Debug)]
pub struct Model {
    handle: Arc<ModelHandle>,
}

#[derive(Debug)]
struct ModelHandle(*mut sys::llama3_model);

unsafe impl Send for ModelHandle {}
unsafe impl Sync for ModelHandle {}

impl Drop for ModelHandle {
    fn drop(&mut self) {
        unsafe { sys::llama3_model_free(self.0) }
    }
}

#[derive(Clone, Debug)]
pub struct LoadOptions {
    pub use_mmap: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { use_mmap: true }
    }
}

impl Model {
    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        Self::load_with(path, &LoadOptions::default(), |_| true)
    }

    /// Loads with options and a progress callback (fraction 0..1; return false to cancel, which
    /// fails with `ErrorKind::Cancelled`).
    pub fn load_with(
        path: impl AsRef<Path>,
        options: &LoadOptions,
        mut progress: impl FnMut(f32) -> bool,
    ) -> Result<Model> {
        unsafe extern "C" fn trampoline(fraction: f32, user_data: *mut c_void) -> c_int {
            let progress = &mut *(user_data as *mut &mut dyn FnMut(f32) -> bool);
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| progress(fraction))) {
                Ok(true) => 0,
                _ => 1,
            }
        }
        let path = c_path(path.as_ref())?;
        let mut callback: &mut dyn FnMut(f32) -> bool = &mut progress;
        let mut params = unsafe { std::mem::zeroed::<sys::llama3_model_params>() };
        unsafe {
            check(sys::llama3_model_params_init(&mut params))?;
        }
        params.use_mmap = options.use_mmap as i32;
        params.progress = Some(trampoline);
        params.progress_user_data = &mut callback as *mut _ as *mut c_void;
        let mut raw = ptr::null_mut();
        unsafe { check(sys::llama3_model_load(path.as_ptr(), &params, &mut raw))? };
        Ok(Model {
            handle: Arc::new(ModelHandle(raw)),
        })
    }

    pub(crate) fn raw(&self) -> *mut sys::llama3_model {
        self.handle.0
    }

    pub fn n_vocab(&self) -> i32 {
        let mut value = 0;
        unsafe { sys::llama3_model_n_vocab(self.raw(), &mut value) };
        value
    }

    pub fn context_length(&self) -> i32 {
        let mut value = 0;
        unsafe { sys::llama3_model_context_length(self.raw(), &mut value) };
        value
    }

    /// A metadata value as text ("" when absent).
    pub fn metadata(&self, key: &str) -> Result<String> {
        let key = c_string(key)?;
        let bytes = fill_buffer::<u8>(1, |buffer, capacity, needed| unsafe {
            sys::llama3_model_metadata(
                self.raw(),
                key.as_ptr(),
                buffer as *mut c_char,
                capacity,
                needed,
            )
        })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The model's tokenizer (`ErrorKind::InvalidArgument` when the file has none).
    pub fn tokenizer(&self) -> Result<Tokenizer> {
        let mut raw = ptr::null_mut();
        unsafe { check(sys::llama3_model_tokenizer(self.raw(), &mut raw))? };
        Ok(Tokenizer { raw })
    }

    pub fn session(&self, options: &SessionOptions) -> Result<Session> {
        let mut params = unsafe { std::mem::zeroed::<sys::llama3_session_params>() };
        unsafe { check(sys::llama3_session_params_init(&mut params))? };
        params.n_ctx = options.n_ctx;
        params.n_threads = options.n_threads;
        params.kv_cache_type = if options.f32_kv_cache {
            sys::LLAMA3_KV_CACHE_F32
        } else {
            sys::LLAMA3_KV_CACHE_F16
        };
        let mut raw = ptr::null_mut();
        unsafe { check(sys::llama3_session_create(self.raw(), &params, &mut raw))? };
        Ok(Session { raw })
    }
}

// ---- tokenizer ----

/// Text <-> token ids; immutable and shareable between threads.
pub struct Tokenizer {
    raw: *mut sys::llama3_tokenizer,
}

unsafe impl Send for Tokenizer {}
unsafe impl Sync for Tokenizer {}

impl Tokenizer {
    /// Loads tokenizer.json, tokenizer.model or a .gguf's tokenizer.
    pub fn load(path: impl AsRef<Path>) -> Result<Tokenizer> {
        let path = c_path(path.as_ref())?;
        let mut raw = ptr::null_mut();
        unsafe { check(sys::llama3_tokenizer_load(path.as_ptr(), &mut raw))? };
        Ok(Tokenizer { raw })
    }

    /// `flags`: `ADD_BOS | ADD_EOS | PARSE_SPECIAL`.
    pub fn encode(&self, text: &str, flags: u32) -> Result<Vec<Token>> {
        fill_buffer::<Token>(0, |buffer, capacity, needed| unsafe {
            sys::llama3_tokenize(
                self.raw,
                text.as_ptr() as *const c_char,
                text.len(),
                flags,
                buffer,
                capacity,
                needed,
            )
        })
    }

    /// Decodes to bytes (may end inside a UTF-8 character); `flags`: `RENDER_SPECIAL`.
    pub fn decode_bytes(&self, tokens: &[Token], flags: u32) -> Result<Vec<u8>> {
        fill_buffer::<u8>(1, |buffer, capacity, needed| unsafe {
            sys::llama3_detokenize(
                self.raw,
                tokens.as_ptr(),
                tokens.len(),
                flags,
                buffer as *mut c_char,
                capacity,
                needed,
            )
        })
    }

    /// Decodes to text (invalid UTF-8 becomes U+FFFD).
    pub fn decode(&self, tokens: &[Token], flags: u32) -> Result<String> {
        Ok(String::from_utf8_lossy(&self.decode_bytes(tokens, flags)?).into_owned())
    }

    /// `messages`: (role, content) pairs; roles are system, user, assistant and ipython. Ends with
    /// the open assistant header.
    pub fn encode_dialog(&self, messages: &[(&str, &str)]) -> Result<Vec<Token>> {
        let owned: Vec<(CString, CString)> = messages
            .iter()
            .map(|(role, content)| Ok((c_string(role)?, c_string(content)?)))
            .collect::<Result<_>>()?;
        let raw: Vec<sys::llama3_chat_message> = owned
            .iter()
            .map(|(role, content)| sys::llama3_chat_message {
                role: role.as_ptr(),
                content: content.as_ptr(),
            })
            .collect();
        fill_buffer::<Token>(0, |buffer, capacity, needed| unsafe {
            sys::llama3_chat_encode(
                self.raw,
                raw.as_ptr(),
                raw.len(),
                ptr::null(),
                buffer,
                capacity,
                needed,
            )
        })
    }

    pub fn vocab_size(&self) -> usize {
        let mut value = 0;
        unsafe { sys::llama3_tokenizer_vocab_size(self.raw, &mut value) };
        value
    }
}

impl Drop for Tokenizer {
    fn drop(&mut self) {
        unsafe { sys::llama3_tokenizer_free(self.raw) }
    }
}

// ---- sampler ----

#[derive(Clone, Debug)]
pub struct SamplerParams {
    pub temperature: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub min_p: f32,
    pub repeat_penalty: f32,
    pub frequency_penalty: f32,
    pub presence_penalty: f32,
    pub penalty_last_n: i32,
    pub seed: u64,
    pub logit_bias: Vec<(Token, f32)>,
}

impl Default for SamplerParams {
    /// The library's defaults (llama3_sampler_params_init).
    fn default() -> Self {
        let mut raw = unsafe { std::mem::zeroed::<sys::llama3_sampler_params>() };
        unsafe { sys::llama3_sampler_params_init(&mut raw) };
        SamplerParams {
            temperature: raw.temperature,
            top_k: raw.top_k,
            top_p: raw.top_p,
            min_p: raw.min_p,
            repeat_penalty: raw.repeat_penalty,
            frequency_penalty: raw.frequency_penalty,
            presence_penalty: raw.presence_penalty,
            penalty_last_n: raw.penalty_last_n,
            seed: raw.seed,
            logit_bias: Vec::new(),
        }
    }
}

impl SamplerParams {
    fn raw_bias(&self) -> Vec<sys::llama3_logit_bias> {
        self.logit_bias
            .iter()
            .map(|&(token, bias)| sys::llama3_logit_bias { token, bias })
            .collect()
    }

    /// The C struct; it points into `bias`, which must outlive it.
    fn to_raw(&self, bias: &[sys::llama3_logit_bias]) -> Result<sys::llama3_sampler_params> {
        let mut raw = unsafe { std::mem::zeroed::<sys::llama3_sampler_params>() };
        unsafe { check(sys::llama3_sampler_params_init(&mut raw))? };
        raw.temperature = self.temperature;
        raw.top_k = self.top_k;
        raw.top_p = self.top_p;
        raw.min_p = self.min_p;
        raw.repeat_penalty = self.repeat_penalty;
        raw.frequency_penalty = self.frequency_penalty;
        raw.presence_penalty = self.presence_penalty;
        raw.penalty_last_n = self.penalty_last_n;
        raw.seed = self.seed;
        raw.logit_bias = bias.as_ptr();
        raw.n_logit_bias = bias.len();
        Ok(raw)
    }
}

/// A seeded sampling chain; same seed, same tokens.
pub struct Sampler {
    raw: *mut sys::llama3_sampler,
}

unsafe impl Send for Sampler {}

impl Sampler {
    pub fn new(params: &SamplerParams) -> Result<Sampler> {
        let bias = params.raw_bias();
        let raw_params = params.to_raw(&bias)?;
        let mut raw = ptr::null_mut();
        unsafe { check(sys::llama3_sampler_create(&raw_params, &mut raw))? };
        Ok(Sampler { raw })
    }

    pub fn sample(&mut self, logits: &[f32]) -> Result<Token> {
        let mut token = 0;
        unsafe {
            check(sys::llama3_sampler_sample(
                self.raw,
                logits.as_ptr(),
                logits.len(),
                &mut token,
            ))?
        };
        Ok(token)
    }

    /// The tokens a draw from `logits` could return here (what survives bias, penalties, top-k,
    /// top-p and min-p), most likely first (ties: lowest id), with their final probabilities.
    /// Draws nothing and records nothing.
    pub fn candidates(&mut self, logits: &[f32]) -> Result<Vec<(Token, f32)>> {
        let (mut n, mut total) = (0usize, 0usize);
        unsafe {
            check(sys::llama3_sampler_candidates(
                self.raw,
                logits.as_ptr(),
                logits.len(),
                ptr::null_mut(),
                0,
                &mut n,
                &mut total,
            ))?
        };
        let mut out = vec![sys::llama3_token_probability::default(); total];
        unsafe {
            check(sys::llama3_sampler_candidates(
                self.raw,
                logits.as_ptr(),
                logits.len(),
                out.as_mut_ptr(),
                out.len(),
                &mut n,
                ptr::null_mut(),
            ))?
        };
        out.truncate(n);
        Ok(out.iter().map(|c| (c.token, c.probability)).collect())
    }

    pub fn accept(&mut self, token: Token) -> Result<()> {
        unsafe { check(sys::llama3_sampler_accept(self.raw, token)) }
    }

    pub fn reset(&mut self) -> Result<()> {
        unsafe { check(sys::llama3_sampler_reset(self.raw)) }
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        unsafe { sys::llama3_sampler_free(self.raw) }
    }
}

// ---- session ----

#[derive(Clone, Debug, Default)]
pub struct SessionOptions {
    /// Context window in tokens; 0: the model's, capped at 4096.
    pub n_ctx: i32,
    /// Compute threads; 0: one per hardware thread.
    pub n_threads: i32,
    pub f32_kv_cache: bool,
}

/// How a generation runs. Besides the length and stop strings: LoRA adapters (engine requests
/// only; a session takes them from [`Session::set_adapters`]), speculative decoding (sessions
/// only) and the safety filters (both). A filter that blocks makes the call fail with
/// `ErrorKind::Blocked`, its message naming the filter and why (docs/c-api.md, "Safety filters").
#[derive(Clone, Debug)]
pub struct GenerateOptions {
    pub max_tokens: i32,
    pub stop_strings: Vec<String>,
    /// Engine requests: the adapters the request runs with, and their scales.
    pub adapters: Vec<(LoraAdapter, f32)>,
    /// Speculative decoding with a smaller model of the same vocabulary, or
    pub draft_model: Option<Model>,
    pub draft_threads: i32,
    /// by prompt lookup with n-grams of up to this many tokens (1..16; 0: off). Not both.
    pub lookup_ngram: i32,
    /// Tokens proposed per step (1..32).
    pub draft_max: i32,
    /// A Llama Guard judging the prompt (`guard_prompt`) and the finished answer (`guard_answer`).
    pub guard: Option<Guard>,
    pub guard_prompt: bool,
    pub guard_answer: bool,
    /// Stops an answer whose fenced code has a finding of error severity.
    pub code_scanner: Option<CodeScanner>,
    /// Phrases that may appear in neither the prompt nor the answer (ASCII case-insensitive).
    pub blocked_phrases: Vec<String>,
}

impl Default for GenerateOptions {
    /// The library's defaults (llama3_generate_params_init).
    fn default() -> Self {
        let mut raw = unsafe { std::mem::zeroed::<sys::llama3_generate_params>() };
        unsafe { sys::llama3_generate_params_init(&mut raw) };
        GenerateOptions {
            max_tokens: raw.max_tokens,
            stop_strings: Vec::new(),
            adapters: Vec::new(),
            draft_model: None,
            draft_threads: raw.draft_threads,
            lookup_ngram: raw.lookup_ngram,
            draft_max: raw.draft_max,
            guard: None,
            guard_prompt: raw.guard_prompt != 0,
            guard_answer: raw.guard_answer != 0,
            code_scanner: None,
            blocked_phrases: Vec::new(),
        }
    }
}

/// The C struct of [`GenerateOptions`] with what it points to, kept alive together (the vectors'
/// heap buffers do not move when this value does; the handles are clones).
struct RawGenerateOptions {
    params: sys::llama3_generate_params,
    _stops: Vec<CString>,
    _stop_ptrs: Vec<*const c_char>,
    _phrases: Vec<CString>,
    _phrase_ptrs: Vec<*const c_char>,
    _adapter_ptrs: Vec<*const sys::llama3_lora>,
    _scales: Vec<f32>,
    _handles: GenerateOptions,
}

fn c_strings(strings: &[String]) -> Result<(Vec<CString>, Vec<*const c_char>)> {
    let owned: Vec<CString> = strings.iter().map(|s| c_string(s)).collect::<Result<_>>()?;
    let pointers = owned.iter().map(|s| s.as_ptr()).collect();
    Ok((owned, pointers))
}

fn ptr_or_null<T>(items: &[T]) -> *const T {
    if items.is_empty() {
        ptr::null()
    } else {
        items.as_ptr()
    }
}

impl GenerateOptions {
    fn to_raw(&self) -> Result<RawGenerateOptions> {
        let (stops, stop_ptrs) = c_strings(&self.stop_strings)?;
        let (phrases, phrase_ptrs) = c_strings(&self.blocked_phrases)?;
        let adapter_ptrs: Vec<*const sys::llama3_lora> = self
            .adapters
            .iter()
            .map(|(a, _)| a.raw() as *const _)
            .collect();
        let scales: Vec<f32> = self.adapters.iter().map(|&(_, scale)| scale).collect();
        let mut params = unsafe { std::mem::zeroed::<sys::llama3_generate_params>() };
        unsafe { check(sys::llama3_generate_params_init(&mut params))? };
        params.max_tokens = self.max_tokens;
        params.stop_strings = ptr_or_null(&stop_ptrs);
        params.n_stop_strings = stop_ptrs.len();
        params.adapters = ptr_or_null(&adapter_ptrs);
        params.adapter_scales = ptr_or_null(&scales);
        params.n_adapters = adapter_ptrs.len();
        params.draft_model = self
            .draft_model
            .as_ref()
            .map_or(ptr::null(), |m| m.raw() as *const _);
        params.draft_threads = self.draft_threads;
        params.lookup_ngram = self.lookup_ngram;
        params.draft_max = self.draft_max;
        params.guard = self.guard.as_ref().map_or(ptr::null_mut(), |g| g.raw());
        params.guard_prompt = self.guard_prompt as i32;
        params.guard_answer = self.guard_answer as i32;
        params.code_scanner = self
            .code_scanner
            .as_ref()
            .map_or(ptr::null(), |c| c.raw() as *const _);
        params.blocked_phrases = ptr_or_null(&phrase_ptrs);
        params.n_blocked_phrases = phrase_ptrs.len();
        Ok(RawGenerateOptions {
            params,
            _stops: stops,
            _stop_ptrs: stop_ptrs,
            _phrases: phrases,
            _phrase_ptrs: phrase_ptrs,
            _adapter_ptrs: adapter_ptrs,
            _scales: scales,
            _handles: self.clone(),
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    EndOfGeneration,
    MaxTokens,
    StopString,
    Callback,
    ContextFull,
    /// A safety filter refused the prompt (nothing was decoded).
    Blocked,
    /// A safety filter stopped the answer.
    Filtered,
}

impl StopReason {
    fn from_raw(code: i32) -> StopReason {
        match code {
            sys::LLAMA3_STOP_END_OF_GENERATION => StopReason::EndOfGeneration,
            sys::LLAMA3_STOP_STOP_STRING => StopReason::StopString,
            sys::LLAMA3_STOP_CALLBACK => StopReason::Callback,
            sys::LLAMA3_STOP_CONTEXT_FULL => StopReason::ContextFull,
            sys::LLAMA3_STOP_BLOCKED => StopReason::Blocked,
            sys::LLAMA3_STOP_FILTERED => StopReason::Filtered,
            _ => StopReason::MaxTokens,
        }
    }
}

#[derive(Clone, Debug)]
pub struct GenerateResult {
    /// The generated text: every piece handed out, cut before a stop string.
    pub text: String,
    pub stop_reason: StopReason,
    pub n_prompt_tokens: i32,
    pub n_generated_tokens: i32,
    /// Prompt tokens reused from the context (a BOS-led prompt).
    pub n_cached_tokens: i32,
    /// Speculative decoding: tokens drafted, of those accepted, and the model's passes.
    pub n_drafted: i32,
    pub n_draft_accepted: i32,
    pub n_target_passes: i32,
}

/// One conversation: KV cache, position and logits.
pub struct Session {
    raw: *mut sys::llama3_session,
}

unsafe impl Send for Session {}

impl Session {
    /// Runs tokens after those in the context (`ErrorKind::ContextFull` leaves it unchanged).
    pub fn decode(&mut self, tokens: &[Token]) -> Result<&[f32]> {
        unsafe {
            check(sys::llama3_session_decode(
                self.raw,
                tokens.as_ptr(),
                tokens.len(),
            ))?
        };
        Ok(self.logits())
    }

    /// The logits after the last decoded token; borrowed from the session, so the borrow checker
    /// ends the view before the next decode.
    pub fn logits(&self) -> &[f32] {
        let mut data = ptr::null();
        let mut n = 0usize;
        unsafe { sys::llama3_session_logits(self.raw, &mut data, &mut n) };
        if data.is_null() {
            return &[];
        }
        unsafe { std::slice::from_raw_parts(data, n) }
    }

    pub fn n_past(&self) -> i32 {
        let mut value = 0;
        unsafe { sys::llama3_session_n_past(self.raw, &mut value) };
        value
    }

    pub fn n_ctx(&self) -> i32 {
        let mut value = 0;
        unsafe { sys::llama3_session_n_ctx(self.raw, &mut value) };
        value
    }

    pub fn reset(&mut self) -> Result<()> {
        unsafe { check(sys::llama3_session_reset(self.raw)) }
    }

    pub fn save_state(&self) -> Result<Vec<u8>> {
        fill_buffer::<u8>(0, |buffer, capacity, needed| unsafe {
            sys::llama3_session_save_state(self.raw, buffer as *mut c_void, capacity, needed)
        })
    }

    pub fn load_state(&mut self, state: &[u8]) -> Result<()> {
        unsafe {
            check(sys::llama3_session_load_state(
                self.raw,
                state.as_ptr() as *const c_void,
                state.len(),
            ))
        }
    }

    /// Feeds `prompt`, then samples, calling `on_piece` with each complete piece of text; return
    /// false to stop.
    pub fn generate(
        &mut self,
        prompt: &[Token],
        sampler: &mut Sampler,
        options: &GenerateOptions,
        mut on_piece: impl FnMut(&str) -> bool,
    ) -> Result<GenerateResult> {
        unsafe extern "C" fn trampoline(
            piece: *const c_char,
            length: usize,
            user_data: *mut c_void,
        ) -> c_int {
            let on_piece = &mut *(user_data as *mut &mut dyn FnMut(&str) -> bool);
            let bytes = std::slice::from_raw_parts(piece as *const u8, length);
            let text = String::from_utf8_lossy(bytes);
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| on_piece(&text))) {
                Ok(true) => 0,
                _ => 1,
            }
        }
        let mut text = String::new();
        let mut collect = |piece: &str| {
            text.push_str(piece);
            on_piece(piece)
        };
        let mut callback: &mut dyn FnMut(&str) -> bool = &mut collect;
        let mut raw = options.to_raw()?;
        raw.params.on_piece = Some(trampoline);
        raw.params.user_data = &mut callback as *mut _ as *mut c_void;
        let mut result = sys::llama3_generate_result {
            struct_size: std::mem::size_of::<sys::llama3_generate_result>(),
            ..Default::default()
        };
        unsafe {
            check(sys::llama3_session_generate(
                self.raw,
                prompt.as_ptr(),
                prompt.len(),
                sampler.raw,
                &raw.params,
                &mut result,
            ))?
        };
        Ok(GenerateResult {
            text,
            stop_reason: StopReason::from_raw(result.stop_reason),
            n_prompt_tokens: result.n_prompt_tokens,
            n_generated_tokens: result.n_generated_tokens,
            n_cached_tokens: result.n_cached_tokens,
            n_drafted: result.n_drafted,
            n_draft_accepted: result.n_draft_accepted,
            n_target_passes: result.n_target_passes,
        })
    }

    /// The safety filters' notes from the last generation (the code scanner's warnings, the
    /// Guard's verdict on the answer) as a JSON array of strings.
    pub fn filter_notes(&self) -> Result<String> {
        let bytes = fill_buffer::<u8>(1, |buffer, capacity, needed| unsafe {
            sys::llama3_session_filter_notes(self.raw, buffer as *mut c_char, capacity, needed)
        })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Replaces the adapters (and their scales) used from the next decode on; an empty list is
    /// the base model. The context already decoded keeps what the earlier adapters computed.
    pub fn set_adapters(&mut self, adapters: &[(LoraAdapter, f32)]) -> Result<()> {
        let pointers: Vec<*const sys::llama3_lora> =
            adapters.iter().map(|(a, _)| a.raw() as *const _).collect();
        let scales: Vec<f32> = adapters.iter().map(|&(_, scale)| scale).collect();
        unsafe {
            check(sys::llama3_session_set_adapters(
                self.raw,
                ptr_or_null(&pointers),
                ptr_or_null(&scales),
                pointers.len(),
            ))
        }
    }

    /// Generation as an iterator of text pieces. The session and sampler move into a worker thread
    /// for the duration (so nothing else can touch them) and come back from `Pieces::finish`.
    /// The worker waits for each piece to be taken, and dropping the iterator stops it.
    pub fn into_pieces(
        self,
        prompt: Vec<Token>,
        sampler: Sampler,
        options: GenerateOptions,
    ) -> Pieces {
        let (sender, receiver) = mpsc::sync_channel::<String>(0);
        let worker = thread::spawn(move || {
            let mut session = self;
            let mut sampler = sampler;
            let result = session.generate(&prompt, &mut sampler, &options, |piece| {
                sender.send(piece.to_string()).is_ok()
            });
            (session, sampler, result)
        });
        Pieces {
            receiver: Some(receiver),
            worker: Some(worker),
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        unsafe { sys::llama3_session_free(self.raw) }
    }
}

/// Iterator returned by [`Session::into_pieces`].
pub struct Pieces {
    receiver: Option<mpsc::Receiver<String>>,
    worker: Option<thread::JoinHandle<(Session, Sampler, Result<GenerateResult>)>>,
}

impl Iterator for Pieces {
    type Item = String;
    fn next(&mut self) -> Option<String> {
        self.receiver.as_ref()?.recv().ok()
    }
}

impl Pieces {
    /// Stops the generation if it is still running and hands back the session, the sampler and
    /// the outcome.
    pub fn finish(mut self) -> (Session, Sampler, Result<GenerateResult>) {
        self.receiver = None; // a blocked send fails, so the worker stops at the next piece
        let worker = self.worker.take().expect("finish runs once");
        worker.join().expect("the generation thread panicked")
    }
}

impl Drop for Pieces {
    fn drop(&mut self) {
        self.receiver = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

// ---- engine ----

/// How an [`Engine`] is sized; the defaults are the library's (llama3_engine_params_init).
#[derive(Clone, Debug)]
pub struct EngineOptions {
    /// Compute threads; 0: one per hardware thread.
    pub n_threads: i32,
    /// Context per sequence; 0: the model's, capped at 4096.
    pub n_ctx: i32,
    /// KV pool size in positions over all sequences; 0: four sequences' context.
    pub kv_tokens: i32,
    /// Rows per step (generating sequences plus prompt chunks).
    pub max_step_tokens: i32,
    pub f32_kv_cache: bool,
    /// A request that finds too few KV blocks ends `Refused` instead of waiting in the queue.
    pub refuse_when_pool_full: bool,
    /// Reuse finished prompts' KV blocks for requests that share a prefix.
    pub prefix_cache: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        let mut raw = unsafe { std::mem::zeroed::<sys::llama3_engine_params>() };
        unsafe { sys::llama3_engine_params_init(&mut raw) };
        EngineOptions {
            n_threads: raw.n_threads,
            n_ctx: raw.n_ctx,
            kv_tokens: raw.kv_tokens,
            max_step_tokens: raw.max_step_tokens,
            f32_kv_cache: raw.kv_cache_type == sys::LLAMA3_KV_CACHE_F32,
            refuse_when_pool_full: raw.when_pool_full == sys::LLAMA3_POOL_FULL_REFUSE,
            prefix_cache: raw.prefix_cache != 0,
        }
    }
}

pub type RequestId = u64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestState {
    Queued,
    Running,
    /// Ended by itself; the result's stop reason says why.
    Finished,
    Cancelled,
    /// The KV pool could not take its prompt (with `refuse_when_pool_full`).
    Refused,
    Failed,
}

impl RequestState {
    fn from_raw(code: i32) -> RequestState {
        match code {
            sys::LLAMA3_REQUEST_QUEUED => RequestState::Queued,
            sys::LLAMA3_REQUEST_RUNNING => RequestState::Running,
            sys::LLAMA3_REQUEST_FINISHED => RequestState::Finished,
            sys::LLAMA3_REQUEST_CANCELLED => RequestState::Cancelled,
            sys::LLAMA3_REQUEST_REFUSED => RequestState::Refused,
            _ => RequestState::Failed,
        }
    }

    /// True once the request can make no more text.
    pub fn has_ended(self) -> bool {
        !matches!(self, RequestState::Queued | RequestState::Running)
    }
}

/// How a request ended: its state, and the generation's figures.
#[derive(Clone, Debug)]
pub struct EngineResult {
    pub state: RequestState,
    pub stop_reason: StopReason,
    pub n_prompt_tokens: i32,
    pub n_generated_tokens: i32,
}

/// Many generations at once over one model: batched steps, shared paged KV memory and a prefix
/// cache. Its own worker thread runs the steps; every method may be called from any thread, so
/// an `Engine` is shared by reference (or in an `Arc`) between the threads that submit, poll and
/// cancel. It keeps the model's weights alive, so the `Model` may be dropped first.
pub struct Engine {
    raw: *mut sys::llama3_engine,
}

unsafe impl Send for Engine {}
unsafe impl Sync for Engine {}

impl Engine {
    pub fn new(model: &Model, options: &EngineOptions) -> Result<Engine> {
        let mut params = unsafe { std::mem::zeroed::<sys::llama3_engine_params>() };
        unsafe { check(sys::llama3_engine_params_init(&mut params))? };
        params.n_threads = options.n_threads;
        params.n_ctx = options.n_ctx;
        params.kv_tokens = options.kv_tokens;
        params.max_step_tokens = options.max_step_tokens;
        params.kv_cache_type = if options.f32_kv_cache {
            sys::LLAMA3_KV_CACHE_F32
        } else {
            sys::LLAMA3_KV_CACHE_F16
        };
        params.when_pool_full = if options.refuse_when_pool_full {
            sys::LLAMA3_POOL_FULL_REFUSE
        } else {
            sys::LLAMA3_POOL_FULL_WAIT
        };
        params.prefix_cache = options.prefix_cache as i32;
        let mut raw = ptr::null_mut();
        unsafe { check(sys::llama3_engine_create(model.raw(), &params, &mut raw))? };
        Ok(Engine { raw })
    }

    /// Queues a generation of `prompt` with its own sampling; returns at once. Its text is read
    /// with [`Engine::poll`], its end with [`Engine::wait`].
    pub fn submit(
        &self,
        prompt: &[Token],
        sampling: &SamplerParams,
        options: &GenerateOptions,
    ) -> Result<RequestId> {
        let bias = sampling.raw_bias();
        let raw_sampling = sampling.to_raw(&bias)?;
        let raw = options.to_raw()?;
        let mut id: RequestId = 0;
        unsafe {
            check(sys::llama3_engine_submit(
                self.raw,
                prompt.as_ptr(),
                prompt.len(),
                &raw_sampling,
                &raw.params,
                &mut id,
            ))?
        };
        Ok(id)
    }

    /// The text produced since the last poll, and the request's state.
    pub fn poll(&self, id: RequestId) -> Result<(String, RequestState)> {
        // Text keeps arriving from the engine's thread, so the size asked for may have grown by
        // the second call: a buffer that turns out too small is sized again (nothing is consumed).
        let mut state = sys::LLAMA3_REQUEST_QUEUED;
        let mut needed = 0usize;
        loop {
            let mut buffer = vec![0u8; needed + 256];
            let status = unsafe {
                sys::llama3_engine_poll(
                    self.raw,
                    id,
                    buffer.as_mut_ptr() as *mut c_char,
                    buffer.len(),
                    &mut needed,
                    &mut state,
                )
            };
            if status == sys::LLAMA3_ERR_BUFFER_TOO_SMALL {
                continue;
            }
            check(status)?;
            buffer.truncate(needed);
            return Ok((
                String::from_utf8_lossy(&buffer).into_owned(),
                RequestState::from_raw(state),
            ));
        }
    }

    /// Ends a queued or running request (`Cancelled`); one that already ended is left as it is.
    pub fn cancel(&self, id: RequestId) -> Result<()> {
        unsafe { check(sys::llama3_engine_cancel(self.raw, id)) }
    }

    /// Blocks until the request has ended, then forgets it: its id becomes unknown, and text not
    /// yet polled is dropped.
    pub fn wait(&self, id: RequestId) -> Result<EngineResult> {
        let mut result = sys::llama3_generate_result {
            struct_size: std::mem::size_of::<sys::llama3_generate_result>(),
            ..Default::default()
        };
        let mut state = sys::LLAMA3_REQUEST_FAILED;
        unsafe {
            check(sys::llama3_engine_wait(
                self.raw,
                id,
                &mut result,
                &mut state,
            ))?
        };
        Ok(EngineResult {
            state: RequestState::from_raw(state),
            stop_reason: StopReason::from_raw(result.stop_reason),
            n_prompt_tokens: result.n_prompt_tokens,
            n_generated_tokens: result.n_generated_tokens,
        })
    }
}

impl Drop for Engine {
    /// Cancels every request and joins the worker thread.
    fn drop(&mut self) {
        unsafe { sys::llama3_engine_free(self.raw) }
    }
}
