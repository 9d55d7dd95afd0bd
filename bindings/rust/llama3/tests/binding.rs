//! Tests of the Rust binding; ctest sets LLAMA3_LIB_DIR, LD_LIBRARY_PATH and the LLAMA3_TEST_*
//! variables (tests/CMakeLists.txt). A test whose data file is missing prints why and returns.
mod common;

use common::data;
use llama3::*;
use std::env;


#[test]
fn version_matches_the_header() {
    assert!(version_matches());
    assert_eq!(version(), "0.1.0");
}

#[test]
fn generation_matches_the_cpp_api() {
    let (Some(model_path), Some(reference_path)) =
        (data("LLAMA3_TEST_MODEL"), data("LLAMA3_REFERENCE_TEXT"))
    else {
        return;
    };
    let prompt = env::var("LLAMA3_TEST_PROMPT").unwrap();
    let n_tokens: i32 = env::var("LLAMA3_TEST_N_TOKENS").unwrap().parse().unwrap();
    let seed: u64 = env::var("LLAMA3_TEST_SEED").unwrap().parse().unwrap();
    let temperature: f32 = env::var("LLAMA3_TEST_TEMPERATURE")
        .unwrap()
        .parse()
        .unwrap();
    let reference = std::fs::read_to_string(reference_path).unwrap();

    let model = Model::load(&model_path).unwrap();
    let ids = model
        .tokenizer()
        .unwrap()
        .encode(&prompt, ADD_BOS | PARSE_SPECIAL)
        .unwrap();
    let params = SamplerParams {
        seed,
        temperature,
        ..Default::default()
    };
    let options = GenerateOptions {
        max_tokens: n_tokens,
        ..Default::default()
    };

    // Callback form.
    let mut session = model.session(&SessionOptions::default()).unwrap();
    let mut sampler = Sampler::new(&params).unwrap();
    let mut text = String::new();
    let result = session
        .generate(&ids, &mut sampler, &options, |piece| {
            text.push_str(piece);
            true
        })
        .unwrap();
    assert_eq!(format!("{prompt}{text}\n"), reference);
    assert_eq!(
        result.text, text,
        "the result carries the text the callback saw"
    );

    // Iterator form, on a fresh session.
    let session = model.session(&SessionOptions::default()).unwrap();
    let mut pieces =
        session.into_pieces(ids.clone(), Sampler::new(&params).unwrap(), options.clone());
    let mut streamed = String::new();
    for piece in &mut pieces {
        streamed.push_str(&piece);
    }
    let (session, _sampler, result) = pieces.finish();
    assert_eq!(streamed, text);
    let result = result.unwrap();
    assert_eq!(result.text, streamed);
    assert!(result.n_generated_tokens <= n_tokens);
    assert!(session.n_past() > ids.len() as i32);

    // Dropping the iterator early stops the generation.
    let session = model.session(&SessionOptions::default()).unwrap();
    let mut pieces = session.into_pieces(ids, Sampler::new(&params).unwrap(), options);
    assert!(pieces.next().is_some());
    let (_session, _sampler, result) = pieces.finish();
    assert_eq!(result.unwrap().stop_reason, StopReason::Callback);
}

#[test]
fn errors_carry_their_kind_and_message() {
    let error = Model::load("/nonexistent/model.gguf").err().unwrap();
    assert_eq!(error.kind, ErrorKind::Io);
    assert!(error.message.contains("/nonexistent/model.gguf"));
    let error = Sampler::new(&SamplerParams {
        top_p: 2.0,
        ..Default::default()
    })
    .err()
    .unwrap();
    assert_eq!(error.kind, ErrorKind::InvalidArgument);

    let Some(tiny) = data("LLAMA3_TINY_MODEL") else {
        return;
    };
    let cancelled = Model::load_with(&tiny, &LoadOptions::default(), |_| false)
        .err()
        .unwrap();
    assert_eq!(cancelled.kind, ErrorKind::Cancelled);
    let model = Model::load(&tiny).unwrap();
    let mut session = model
        .session(&SessionOptions {
            n_ctx: 8,
            n_threads: 1,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        session.decode(&[1; 9]).err().unwrap().kind,
        ErrorKind::ContextFull
    );
    assert_eq!(
        session.decode(&[model.n_vocab()]).err().unwrap().kind,
        ErrorKind::InvalidArgument
    );
    let logits = session.decode(&[1, 2, 3]).unwrap();
    assert_eq!(logits.len(), model.n_vocab() as usize);
    let state = session.save_state().unwrap();
    let mut other = model
        .session(&SessionOptions {
            n_ctx: 8,
            n_threads: 1,
            ..Default::default()
        })
        .unwrap();
    other.load_state(&state).unwrap();
    assert_eq!(other.n_past(), 3);
    assert_eq!(other.logits(), session.logits());
    assert_eq!(
        other.load_state(&[0u8; 16]).err().unwrap().kind,
        ErrorKind::BadFormat
    );
}

#[test]
fn tokenizer_and_chat() {
    let Some(vocab) = data("LLAMA3_VOCAB") else {
        return;
    };
    let tokenizer = Tokenizer::load(vocab).unwrap();
    assert_eq!(
        tokenizer.encode("Hello, world!", 0).unwrap(),
        vec![9906, 11, 1917, 0]
    );
    assert_eq!(
        tokenizer.decode(&[9906, 11, 1917, 0], 0).unwrap(),
        "Hello, world!"
    );
    let ids = tokenizer
        .encode_dialog(&[("system", "Be brief."), ("user", "Hi")])
        .unwrap();
    assert_eq!(ids[0], 128000);
    assert_eq!(
        tokenizer
            .encode_dialog(&[("robot", "Hi")])
            .err()
            .unwrap()
            .kind,
        ErrorKind::InvalidArgument
    );
}

#[test]
fn engine_runs_many_requests_and_matches_sessions() {
    let Some(model_path) = data("LLAMA3_TEST_MODEL") else {
        return;
    };
    let model = Model::load(&model_path).unwrap();
    let tokenizer = model.tokenizer().unwrap();
    let greedy = SamplerParams {
        temperature: 0.0,
        ..Default::default()
    };
    let options = GenerateOptions {
        max_tokens: 24,
        ..Default::default()
    };
    let prompts = ["Once upon a time", "The cat sat", "Lily wanted to"];

    // Each prompt alone in a session: the reference text.
    let mut expected = Vec::new();
    for prompt in prompts {
        let ids = tokenizer.encode(prompt, ADD_BOS).unwrap();
        let mut session = model.session(&SessionOptions::default()).unwrap();
        let mut sampler = Sampler::new(&greedy).unwrap();
        let result = session
            .generate(&ids, &mut sampler, &options, |_| true)
            .unwrap();
        expected.push(result.text);
    }

    // All at once through the engine, read by polling from several threads: plainly, and
    // drafting with a draft model (the model itself), which must not change a greedy answer.
    let drafting = GenerateOptions {
        draft_model: Some(model.clone()),
        draft_max: 4,
        ..options.clone()
    };
    for options in [&options, &drafting] {
        let texts = engine_texts(&model, &tokenizer, &prompts, &greedy, options);
        assert_eq!(texts, expected);
    }
}

fn engine_texts(
    model: &Model,
    tokenizer: &Tokenizer,
    prompts: &[&str],
    greedy: &SamplerParams,
    options: &GenerateOptions,
) -> Vec<String> {
    let engine = Engine::new(model, &EngineOptions::default()).unwrap();
    let ids: Vec<RequestId> = prompts
        .iter()
        .map(|prompt| {
            let tokens = tokenizer.encode(prompt, ADD_BOS).unwrap();
            engine.submit(&tokens, greedy, options).unwrap()
        })
        .collect();
    let texts: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = ids
            .iter()
            .map(|&id| {
                let engine = &engine;
                scope.spawn(move || {
                    let mut text = String::new();
                    loop {
                        let (piece, state) = engine.poll(id).unwrap();
                        text.push_str(&piece);
                        if state.has_ended() {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                    let result = engine.wait(id).unwrap();
                    assert_eq!(result.state, RequestState::Finished);
                    assert!(result.n_generated_tokens > 0);
                    text
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    texts
}

#[test]
fn engine_cancel_ends_a_request_and_unknown_ids_are_errors() {
    let Some(model_path) = data("LLAMA3_TEST_MODEL") else {
        return;
    };
    let model = Model::load(&model_path).unwrap();
    let engine = Engine::new(&model, &EngineOptions::default()).unwrap();
    drop(model); // the engine keeps the weights alive
    let tokens = [1, 2, 3];
    let long = GenerateOptions {
        max_tokens: 100_000,
        ..Default::default()
    };
    let id = engine
        .submit(&tokens, &SamplerParams::default(), &long)
        .unwrap();
    engine.cancel(id).unwrap();
    let result = engine.wait(id).unwrap();
    assert_eq!(result.state, RequestState::Cancelled);
    // wait forgot the request.
    let error = engine.poll(id).unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidArgument);
    let empty = engine
        .submit(&[], &SamplerParams::default(), &GenerateOptions::default())
        .unwrap_err();
    assert_eq!(empty.kind, ErrorKind::InvalidArgument);
}
