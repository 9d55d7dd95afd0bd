//! Hand-written `extern "C"` declarations matching `capi/llama3.h` (no bindgen, no registry
//! crates). Keep this file in the header's order; every struct is `#[repr(C)]` with the same fields.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int, c_void};

pub type llama3_status = c_int;
pub const LLAMA3_OK: llama3_status = 0;
pub const LLAMA3_ERR_INVALID_ARGUMENT: llama3_status = 1;
pub const LLAMA3_ERR_IO: llama3_status = 2;
pub const LLAMA3_ERR_BAD_FORMAT: llama3_status = 3;
pub const LLAMA3_ERR_UNSUPPORTED: llama3_status = 4;
pub const LLAMA3_ERR_OUT_OF_MEMORY: llama3_status = 5;
pub const LLAMA3_ERR_CONTEXT_FULL: llama3_status = 6;
pub const LLAMA3_ERR_CANCELLED: llama3_status = 7;
pub const LLAMA3_ERR_BLOCKED: llama3_status = 8;
pub const LLAMA3_ERR_INTERNAL: llama3_status = 9;
pub const LLAMA3_ERR_BUFFER_TOO_SMALL: llama3_status = 10;

pub const LLAMA3_VERSION_MAJOR: u32 = 0;
pub const LLAMA3_VERSION_MINOR: u32 = 1;
pub const LLAMA3_VERSION_PATCH: u32 = 0;
pub const LLAMA3_VERSION_NUMBER: u32 =
    LLAMA3_VERSION_MAJOR * 10000 + LLAMA3_VERSION_MINOR * 100 + LLAMA3_VERSION_PATCH;

pub const LLAMA3_TOKENIZE_ADD_BOS: u32 = 1;
pub const LLAMA3_TOKENIZE_ADD_EOS: u32 = 2;
pub const LLAMA3_TOKENIZE_PARSE_SPECIAL: u32 = 4;
pub const LLAMA3_DETOKENIZE_RENDER_SPECIAL: u32 = 1;
pub const LLAMA3_CHAT_STYLE_AUTO: i32 = -1;
pub const LLAMA3_CHAT_STYLE_LLAMA30: i32 = 0;
pub const LLAMA3_CHAT_STYLE_LLAMA31: i32 = 1;
pub const LLAMA3_KV_CACHE_F16: i32 = 0;
pub const LLAMA3_KV_CACHE_F32: i32 = 1;
pub const LLAMA3_STOP_END_OF_GENERATION: i32 = 0;
pub const LLAMA3_STOP_MAX_TOKENS: i32 = 1;
pub const LLAMA3_STOP_STOP_STRING: i32 = 2;
pub const LLAMA3_STOP_CALLBACK: i32 = 3;
pub const LLAMA3_STOP_CONTEXT_FULL: i32 = 4;
pub const LLAMA3_STOP_BLOCKED: i32 = 5;
pub const LLAMA3_STOP_FILTERED: i32 = 6;
pub const LLAMA3_FILTER_NONE: i32 = 0;
pub const LLAMA3_FILTER_BLOCKED_PHRASES: i32 = 1;
pub const LLAMA3_FILTER_GUARD: i32 = 2;
pub const LLAMA3_FILTER_CODE_SCANNER: i32 = 3;
pub const LLAMA3_MAX_TOP_LOGPROBS: i32 = 20;
pub const LLAMA3_GUARD_AUTO: i32 = -1;
pub const LLAMA3_GUARD_2: i32 = 2;
pub const LLAMA3_GUARD_3: i32 = 3;
pub const LLAMA3_GUARD_3_1B: i32 = 31;
pub const LLAMA3_POOL_FULL_WAIT: i32 = 0;
pub const LLAMA3_POOL_FULL_REFUSE: i32 = 1;
pub const LLAMA3_REQUEST_QUEUED: i32 = 0;
pub const LLAMA3_REQUEST_RUNNING: i32 = 1;
pub const LLAMA3_REQUEST_FINISHED: i32 = 2;
pub const LLAMA3_REQUEST_CANCELLED: i32 = 3;
pub const LLAMA3_REQUEST_REFUSED: i32 = 4;
pub const LLAMA3_REQUEST_FAILED: i32 = 5;

pub type llama3_token = i32;

#[repr(C)]
pub struct llama3_model {
    _private: [u8; 0],
}
#[repr(C)]
pub struct llama3_tokenizer {
    _private: [u8; 0],
}
#[repr(C)]
pub struct llama3_session {
    _private: [u8; 0],
}
#[repr(C)]
pub struct llama3_sampler {
    _private: [u8; 0],
}
#[repr(C)]
pub struct llama3_grammar {
    _private: [u8; 0],
}
#[repr(C)]
pub struct llama3_engine {
    _private: [u8; 0],
}
#[repr(C)]
pub struct llama3_lora {
    _private: [u8; 0],
}
#[repr(C)]
pub struct llama3_code_scanner {
    _private: [u8; 0],
}
#[repr(C)]
pub struct llama3_guard {
    _private: [u8; 0],
}
pub type llama3_request_id = u64;

pub type llama3_log_callback =
    Option<unsafe extern "C" fn(level: i32, message: *const c_char, user_data: *mut c_void)>;
pub type llama3_progress_callback =
    Option<unsafe extern "C" fn(fraction: f32, user_data: *mut c_void) -> c_int>;
pub type llama3_abort_callback = Option<unsafe extern "C" fn(user_data: *mut c_void) -> c_int>;
pub type llama3_piece_callback = Option<
    unsafe extern "C" fn(piece: *const c_char, length: usize, user_data: *mut c_void) -> c_int,
>;

#[repr(C)]
pub struct llama3_model_params {
    pub struct_size: usize,
    pub use_mmap: i32,
    pub progress: llama3_progress_callback,
    pub progress_user_data: *mut c_void,
}

#[repr(C)]
pub struct llama3_chat_message {
    pub role: *const c_char,
    pub content: *const c_char,
}

#[repr(C)]
pub struct llama3_chat_params {
    pub struct_size: usize,
    pub style: i32,
    pub add_generation_prompt: i32,
    pub chat_template: *const c_char,
    pub today_date: *const c_char,
    pub tools: *const *const c_char,
    pub n_tools: usize,
    pub tools_in_user_message: i32,
    pub ipython_environment: i32,
    pub builtin_tools: *const *const c_char,
    pub n_builtin_tools: usize,
    pub message_is_tool_call: *const i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct llama3_logit_bias {
    pub token: llama3_token,
    pub bias: f32,
}

#[repr(C)]
pub struct llama3_sampler_params {
    pub struct_size: usize,
    pub temperature: f32,
    pub top_k: i32,
    pub top_p: f32,
    pub min_p: f32,
    pub repeat_penalty: f32,
    pub frequency_penalty: f32,
    pub presence_penalty: f32,
    pub penalty_last_n: i32,
    pub seed: u64,
    pub logit_bias: *const llama3_logit_bias,
    pub n_logit_bias: usize,
    pub grammar: *const llama3_grammar,
}

#[repr(C)]
pub struct llama3_session_params {
    pub struct_size: usize,
    pub n_ctx: i32,
    pub n_threads: i32,
    pub kv_cache_type: i32,
    pub abort_callback: llama3_abort_callback,
    pub abort_user_data: *mut c_void,
}

#[repr(C)]
pub struct llama3_generate_params {
    pub struct_size: usize,
    pub max_tokens: i32,
    pub stop_strings: *const *const c_char,
    pub n_stop_strings: usize,
    pub on_piece: llama3_piece_callback,
    pub user_data: *mut c_void,
    pub logprobs: i32,
    pub top_logprobs: i32,
    pub adapters: *const *const llama3_lora,
    pub adapter_scales: *const f32,
    pub n_adapters: usize,
    pub draft_model: *const llama3_model,
    pub draft_threads: i32,
    pub lookup_ngram: i32,
    pub draft_max: i32,
    pub guard: *mut llama3_guard,
    pub guard_prompt: i32,
    pub guard_answer: i32,
    pub code_scanner: *const llama3_code_scanner,
    pub blocked_phrases: *const *const c_char,
    pub n_blocked_phrases: usize,
    pub context_shift: i32,
    pub n_keep: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct llama3_token_probability {
    pub token: llama3_token,
    pub probability: f32,
}

#[repr(C)]
#[derive(Default)]
pub struct llama3_generate_result {
    pub struct_size: usize,
    pub stop_reason: i32,
    pub n_prompt_tokens: i32,
    pub n_generated_tokens: i32,
    pub prompt_seconds: f64,
    pub generate_seconds: f64,
    pub n_cached_tokens: i32,
    pub n_drafted: i32,
    pub n_draft_accepted: i32,
    pub n_target_passes: i32,
    pub filter: i32,
}

#[repr(C)]
pub struct llama3_engine_params {
    pub struct_size: usize,
    pub n_threads: i32,
    pub n_ctx: i32,
    pub kv_tokens: i32,
    pub max_step_tokens: i32,
    pub kv_cache_type: i32,
    pub when_pool_full: i32,
    pub prefix_cache: i32,
}

#[repr(C)]
pub struct llama3_guard_params {
    pub struct_size: usize,
    pub version: i32,
    pub threshold: f32,
    pub max_new_tokens: i32,
    pub n_threads: i32,
    pub n_ctx: i32,
}

extern "C" {
    pub fn llama3_version() -> u32;
    pub fn llama3_version_string() -> *const c_char;
    pub fn llama3_status_name(status: llama3_status) -> *const c_char;
    pub fn llama3_last_error_message() -> *const c_char;
    pub fn llama3_set_log_callback(
        callback: llama3_log_callback,
        min_level: i32,
        user_data: *mut c_void,
    ) -> llama3_status;

    pub fn llama3_model_params_init_sized(
        params: *mut llama3_model_params,
        struct_size: usize,
    ) -> llama3_status;
    pub fn llama3_model_load(
        path: *const c_char,
        params: *const llama3_model_params,
        out_model: *mut *mut llama3_model,
    ) -> llama3_status;
    pub fn llama3_model_free(model: *mut llama3_model);
    pub fn llama3_model_n_vocab(model: *const llama3_model, out: *mut i32) -> llama3_status;
    pub fn llama3_model_context_length(model: *const llama3_model, out: *mut i32) -> llama3_status;
    pub fn llama3_model_n_params(model: *const llama3_model, out: *mut u64) -> llama3_status;
    pub fn llama3_model_metadata(
        model: *const llama3_model,
        key: *const c_char,
        buffer: *mut c_char,
        capacity: usize,
        out_length: *mut usize,
    ) -> llama3_status;
    pub fn llama3_model_tokenizer(
        model: *const llama3_model,
        out_tokenizer: *mut *mut llama3_tokenizer,
    ) -> llama3_status;

    pub fn llama3_tokenizer_load(
        path: *const c_char,
        out_tokenizer: *mut *mut llama3_tokenizer,
    ) -> llama3_status;
    pub fn llama3_tokenizer_free(tokenizer: *mut llama3_tokenizer);
    pub fn llama3_tokenizer_vocab_size(
        tokenizer: *const llama3_tokenizer,
        out: *mut usize,
    ) -> llama3_status;
    pub fn llama3_tokenizer_bos(
        tokenizer: *const llama3_tokenizer,
        out: *mut llama3_token,
    ) -> llama3_status;
    pub fn llama3_tokenizer_eos(
        tokenizer: *const llama3_tokenizer,
        out: *mut llama3_token,
    ) -> llama3_status;
    pub fn llama3_tokenizer_is_end_of_generation(
        tokenizer: *const llama3_tokenizer,
        token: llama3_token,
        out: *mut i32,
    ) -> llama3_status;
    pub fn llama3_tokenize(
        tokenizer: *const llama3_tokenizer,
        text: *const c_char,
        text_length: usize,
        flags: u32,
        tokens: *mut llama3_token,
        capacity: usize,
        out_n_tokens: *mut usize,
    ) -> llama3_status;
    pub fn llama3_detokenize(
        tokenizer: *const llama3_tokenizer,
        tokens: *const llama3_token,
        n_tokens: usize,
        flags: u32,
        text: *mut c_char,
        capacity: usize,
        out_length: *mut usize,
    ) -> llama3_status;
    pub fn llama3_token_piece(
        tokenizer: *const llama3_tokenizer,
        token: llama3_token,
        flags: u32,
        text: *mut c_char,
        capacity: usize,
        out_length: *mut usize,
    ) -> llama3_status;
    pub fn llama3_chat_params_init_sized(
        params: *mut llama3_chat_params,
        struct_size: usize,
    ) -> llama3_status;
    pub fn llama3_chat_encode(
        tokenizer: *const llama3_tokenizer,
        messages: *const llama3_chat_message,
        n_messages: usize,
        params: *const llama3_chat_params,
        tokens: *mut llama3_token,
        capacity: usize,
        out_n_tokens: *mut usize,
    ) -> llama3_status;

    pub fn llama3_sampler_params_init_sized(
        params: *mut llama3_sampler_params,
        struct_size: usize,
    ) -> llama3_status;
    pub fn llama3_sampler_create(
        params: *const llama3_sampler_params,
        out_sampler: *mut *mut llama3_sampler,
    ) -> llama3_status;
    pub fn llama3_sampler_free(sampler: *mut llama3_sampler);
    pub fn llama3_sampler_sample(
        sampler: *mut llama3_sampler,
        logits: *const f32,
        n_logits: usize,
        out_token: *mut llama3_token,
    ) -> llama3_status;
    pub fn llama3_sampler_candidates(
        sampler: *mut llama3_sampler,
        logits: *const f32,
        n_logits: usize,
        candidates: *mut llama3_token_probability,
        capacity: usize,
        out_n: *mut usize,
        out_n_total: *mut usize,
    ) -> llama3_status;
    pub fn llama3_sampler_accept(
        sampler: *mut llama3_sampler,
        token: llama3_token,
    ) -> llama3_status;
    pub fn llama3_sampler_reset(sampler: *mut llama3_sampler) -> llama3_status;

    pub fn llama3_session_params_init_sized(
        params: *mut llama3_session_params,
        struct_size: usize,
    ) -> llama3_status;
    pub fn llama3_session_create(
        model: *const llama3_model,
        params: *const llama3_session_params,
        out_session: *mut *mut llama3_session,
    ) -> llama3_status;
    pub fn llama3_session_free(session: *mut llama3_session);
    pub fn llama3_session_decode(
        session: *mut llama3_session,
        tokens: *const llama3_token,
        n_tokens: usize,
    ) -> llama3_status;
    pub fn llama3_session_logits(
        session: *const llama3_session,
        out_logits: *mut *const f32,
        out_n_logits: *mut usize,
    ) -> llama3_status;
    pub fn llama3_session_n_past(session: *const llama3_session, out: *mut i32) -> llama3_status;
    pub fn llama3_session_n_ctx(session: *const llama3_session, out: *mut i32) -> llama3_status;
    pub fn llama3_session_reset(session: *mut llama3_session) -> llama3_status;
    pub fn llama3_generate_params_init_sized(
        params: *mut llama3_generate_params,
        struct_size: usize,
    ) -> llama3_status;
    pub fn llama3_session_generate(
        session: *mut llama3_session,
        prompt: *const llama3_token,
        n_prompt: usize,
        sampler: *mut llama3_sampler,
        params: *const llama3_generate_params,
        result: *mut llama3_generate_result,
    ) -> llama3_status;
    pub fn llama3_session_state_size(
        session: *const llama3_session,
        out_size: *mut usize,
    ) -> llama3_status;
    pub fn llama3_session_save_state(
        session: *const llama3_session,
        buffer: *mut c_void,
        capacity: usize,
        out_size: *mut usize,
    ) -> llama3_status;
    pub fn llama3_session_load_state(
        session: *mut llama3_session,
        state: *const c_void,
        size: usize,
    ) -> llama3_status;
    pub fn llama3_session_save_state_file(
        session: *const llama3_session,
        path: *const c_char,
    ) -> llama3_status;
    pub fn llama3_session_load_state_file(
        session: *mut llama3_session,
        path: *const c_char,
    ) -> llama3_status;

    pub fn llama3_engine_params_init_sized(
        params: *mut llama3_engine_params,
        struct_size: usize,
    ) -> llama3_status;
    pub fn llama3_engine_create(
        model: *const llama3_model,
        params: *const llama3_engine_params,
        out_engine: *mut *mut llama3_engine,
    ) -> llama3_status;
    pub fn llama3_engine_free(engine: *mut llama3_engine);
    pub fn llama3_engine_submit(
        engine: *mut llama3_engine,
        prompt: *const llama3_token,
        n_prompt: usize,
        sampling: *const llama3_sampler_params,
        params: *const llama3_generate_params,
        out_id: *mut llama3_request_id,
    ) -> llama3_status;
    pub fn llama3_engine_cancel(engine: *mut llama3_engine, id: llama3_request_id)
        -> llama3_status;
    pub fn llama3_engine_poll(
        engine: *mut llama3_engine,
        id: llama3_request_id,
        buffer: *mut c_char,
        capacity: usize,
        out_length: *mut usize,
        out_state: *mut i32,
    ) -> llama3_status;
    pub fn llama3_engine_wait(
        engine: *mut llama3_engine,
        id: llama3_request_id,
        result: *mut llama3_generate_result,
        out_state: *mut i32,
    ) -> llama3_status;

    pub fn llama3_session_filter_notes(
        session: *const llama3_session,
        json: *mut c_char,
        capacity: usize,
        out_length: *mut usize,
    ) -> llama3_status;

    pub fn llama3_lora_load(
        model: *const llama3_model,
        path: *const c_char,
        out_lora: *mut *mut llama3_lora,
    ) -> llama3_status;
    pub fn llama3_lora_free(lora: *mut llama3_lora);
    pub fn llama3_lora_info(
        lora: *const llama3_lora,
        out_rank: *mut i32,
        out_scale: *mut f32,
    ) -> llama3_status;
    pub fn llama3_session_set_adapters(
        session: *mut llama3_session,
        adapters: *const *const llama3_lora,
        scales: *const f32,
        n_adapters: usize,
    ) -> llama3_status;

    pub fn llama3_code_scanner_create(
        rules_json: *const c_char,
        out_scanner: *mut *mut llama3_code_scanner,
    ) -> llama3_status;
    pub fn llama3_code_scanner_free(scanner: *mut llama3_code_scanner);
    pub fn llama3_code_scan(
        scanner: *const llama3_code_scanner,
        code: *const c_char,
        length: usize,
        language: *const c_char,
        markdown: i32,
        json: *mut c_char,
        capacity: usize,
        out_length: *mut usize,
    ) -> llama3_status;
    pub fn llama3_guard_params_init_sized(
        params: *mut llama3_guard_params,
        struct_size: usize,
    ) -> llama3_status;
    pub fn llama3_guard_create(
        model: *const llama3_model,
        params: *const llama3_guard_params,
        out_guard: *mut *mut llama3_guard,
    ) -> llama3_status;
    pub fn llama3_guard_free(guard: *mut llama3_guard);
    pub fn llama3_guard_classify(
        guard: *mut llama3_guard,
        turns: *const llama3_chat_message,
        n_turns: usize,
        json: *mut c_char,
        capacity: usize,
        out_length: *mut usize,
    ) -> llama3_status;
}

// llama3.h's *_params_init are macros passing the caller's sizeof to *_params_init_sized; these
// are the same for Rust, with the size of the structs as declared in this file.

/// Fills `params` with the library's defaults for this crate's layout of the struct.
///
/// # Safety
/// `params` must point to a writable `llama3_model_params`.
pub unsafe fn llama3_model_params_init(params: *mut llama3_model_params) -> llama3_status {
    llama3_model_params_init_sized(params, core::mem::size_of::<llama3_model_params>())
}

/// Fills `params` with the library's defaults for this crate's layout of the struct.
///
/// # Safety
/// `params` must point to a writable `llama3_chat_params`.
pub unsafe fn llama3_chat_params_init(params: *mut llama3_chat_params) -> llama3_status {
    llama3_chat_params_init_sized(params, core::mem::size_of::<llama3_chat_params>())
}

/// Fills `params` with the library's defaults for this crate's layout of the struct.
///
/// # Safety
/// `params` must point to a writable `llama3_sampler_params`.
pub unsafe fn llama3_sampler_params_init(params: *mut llama3_sampler_params) -> llama3_status {
    llama3_sampler_params_init_sized(params, core::mem::size_of::<llama3_sampler_params>())
}

/// Fills `params` with the library's defaults for this crate's layout of the struct.
///
/// # Safety
/// `params` must point to a writable `llama3_session_params`.
pub unsafe fn llama3_session_params_init(params: *mut llama3_session_params) -> llama3_status {
    llama3_session_params_init_sized(params, core::mem::size_of::<llama3_session_params>())
}

/// Fills `params` with the library's defaults for this crate's layout of the struct.
///
/// # Safety
/// `params` must point to a writable `llama3_generate_params`.
pub unsafe fn llama3_generate_params_init(params: *mut llama3_generate_params) -> llama3_status {
    llama3_generate_params_init_sized(params, core::mem::size_of::<llama3_generate_params>())
}

/// Fills `params` with the library's defaults for this crate's layout of the struct.
///
/// # Safety
/// `params` must point to a writable `llama3_engine_params`.
pub unsafe fn llama3_engine_params_init(params: *mut llama3_engine_params) -> llama3_status {
    llama3_engine_params_init_sized(params, core::mem::size_of::<llama3_engine_params>())
}

/// Fills `params` with the library's defaults for this crate's layout of the struct.
///
/// # Safety
/// `params` must point to a writable `llama3_guard_params`.
pub unsafe fn llama3_guard_params_init(params: *mut llama3_guard_params) -> llama3_status {
    llama3_guard_params_init_sized(params, core::mem::size_of::<llama3_guard_params>())
}
