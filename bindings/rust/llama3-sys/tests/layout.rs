//! The `#[repr(C)]` structs against the library's own: each *_params_init_sized accepts exactly
//! this crate's size and refuses one byte more (a struct the library cannot hold), so the sizes
//! are equal; the defaults read back through the fields land where the C header puts them.
use llama3_sys::*;
use std::mem::{size_of, zeroed};

/// The library takes `size` and refuses `size + 1`: its struct is exactly `size` bytes.
fn assert_exact_size<T>(init: unsafe extern "C" fn(*mut T, usize) -> llama3_status) {
    let mut buffer = vec![0u8; size_of::<T>() + 16];
    let params = buffer.as_mut_ptr() as *mut T;
    let name = std::any::type_name::<T>();
    assert_eq!(unsafe { init(params, size_of::<T>()) }, LLAMA3_OK, "{name}");
    assert_eq!(
        unsafe { init(params, size_of::<T>() + 1) },
        LLAMA3_ERR_UNSUPPORTED,
        "{name} is smaller in Rust than in llama3.h"
    );
}

#[test]
fn params_structs_have_the_size_of_the_header() {
    assert_exact_size(llama3_model_params_init_sized);
    assert_exact_size(llama3_chat_params_init_sized);
    assert_exact_size(llama3_sampler_params_init_sized);
    assert_exact_size(llama3_session_params_init_sized);
    assert_exact_size(llama3_generate_params_init_sized);
    assert_exact_size(llama3_engine_params_init_sized);
    assert_exact_size(llama3_guard_params_init_sized);
}

#[test]
fn generate_params_defaults_land_in_their_fields() {
    let mut params = unsafe { zeroed::<llama3_generate_params>() };
    // Garbage first: init must write every field.
    unsafe {
        std::ptr::write_bytes(
            &mut params as *mut _ as *mut u8,
            0xAB,
            size_of::<llama3_generate_params>(),
        )
    };
    assert_eq!(
        unsafe { llama3_generate_params_init(&mut params) },
        LLAMA3_OK
    );
    assert_eq!(params.struct_size, size_of::<llama3_generate_params>());
    assert_eq!(params.max_tokens, 256);
    assert!(params.stop_strings.is_null() && params.n_stop_strings == 0);
    assert!(params.adapters.is_null() && params.n_adapters == 0);
    assert!(params.draft_model.is_null());
    assert_eq!((params.lookup_ngram, params.draft_max), (0, 8));
    assert!(params.guard.is_null() && params.code_scanner.is_null());
    assert_eq!((params.guard_prompt, params.guard_answer), (1, 1));
    assert!(params.blocked_phrases.is_null() && params.n_blocked_phrases == 0);

    let mut guard = unsafe { zeroed::<llama3_guard_params>() };
    assert_eq!(unsafe { llama3_guard_params_init(&mut guard) }, LLAMA3_OK);
    assert_eq!(
        (guard.version, guard.threshold, guard.max_new_tokens),
        (LLAMA3_GUARD_AUTO, 0.5, 20)
    );
}

/// The result struct has no init function: a generation takes exactly its size and refuses one
/// byte more, and a blocked one writes the last field (`filter`) where the header has it.
#[test]
fn generate_result_has_the_size_and_layout_of_the_header() {
    let Some(path) = std::env::var("LLAMA3_TEST_MODEL")
        .ok()
        .filter(|p| std::path::Path::new(p).exists())
    else {
        eprintln!("skipping: LLAMA3_TEST_MODEL is missing");
        return;
    };
    let path = std::ffi::CString::new(path).unwrap();
    unsafe {
        let mut model = std::ptr::null_mut();
        assert_eq!(
            llama3_model_load(path.as_ptr(), std::ptr::null(), &mut model),
            LLAMA3_OK
        );
        let mut session = std::ptr::null_mut();
        assert_eq!(
            llama3_session_create(model, std::ptr::null(), &mut session),
            LLAMA3_OK
        );
        let mut sampler = std::ptr::null_mut();
        assert_eq!(
            llama3_sampler_create(std::ptr::null(), &mut sampler),
            LLAMA3_OK
        );
        let mut params = zeroed::<llama3_generate_params>();
        assert_eq!(llama3_generate_params_init(&mut params), LLAMA3_OK);
        params.max_tokens = 2;
        let phrase = std::ffi::CString::new("upon").unwrap();
        let phrases = [phrase.as_ptr()];
        params.blocked_phrases = phrases.as_ptr();
        params.n_blocked_phrases = 1;
        let mut tokenizer = std::ptr::null_mut();
        assert_eq!(llama3_model_tokenizer(model, &mut tokenizer), LLAMA3_OK);
        let text = "Once upon a time";
        let mut prompt = [0 as llama3_token; 32];
        let mut n_prompt = 0usize;
        assert_eq!(
            llama3_tokenize(
                tokenizer,
                text.as_ptr() as *const std::os::raw::c_char,
                text.len(),
                LLAMA3_TOKENIZE_ADD_BOS,
                prompt.as_mut_ptr(),
                prompt.len(),
                &mut n_prompt
            ),
            LLAMA3_OK
        );
        llama3_tokenizer_free(tokenizer);
        let mut result = llama3_generate_result {
            struct_size: size_of::<llama3_generate_result>() + 1,
            ..Default::default()
        };
        let generate = |params: &llama3_generate_params, result: &mut llama3_generate_result| {
            llama3_session_generate(session, prompt.as_ptr(), n_prompt, sampler, params, result)
        };
        assert_eq!(generate(&params, &mut result), LLAMA3_ERR_UNSUPPORTED);
        result.struct_size = size_of::<llama3_generate_result>();
        result.filter = -1;
        assert_eq!(generate(&params, &mut result), LLAMA3_ERR_BLOCKED);
        assert_eq!(result.stop_reason, LLAMA3_STOP_BLOCKED);
        assert_eq!(result.filter, LLAMA3_FILTER_BLOCKED_PHRASES);
        // Prompt lookup fills the speculative counters just before `filter`.
        params.n_blocked_phrases = 0;
        params.lookup_ngram = 2;
        params.max_tokens = 8;
        result.filter = -1;
        assert_eq!(generate(&params, &mut result), LLAMA3_OK);
        assert_eq!(result.filter, LLAMA3_FILTER_NONE);
        assert!(result.n_target_passes > 0 && result.n_target_passes <= result.n_generated_tokens);
        llama3_sampler_free(sampler);
        llama3_session_free(session);
        llama3_model_free(model);
    }
}
