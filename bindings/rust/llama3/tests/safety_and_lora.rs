//! The safety filters, the code scanner, the Guard, LoRA adapters, speculative options and the
//! sampler's candidates through the safe crate. ctest sets the LLAMA3_* variables; a test whose
//! data file is missing prints why and returns.
mod common;

use common::data;
use llama3::*;
use std::env;
use std::path::Path;


fn greedy() -> Sampler {
    Sampler::new(&SamplerParams {
        temperature: 0.0,
        ..Default::default()
    })
    .unwrap()
}

#[test]
fn blocked_phrases_refuse_the_prompt_and_stop_the_answer() {
    let Some(path) = data("LLAMA3_TEST_MODEL") else {
        return;
    };
    let model = Model::load(&path).unwrap();
    let prompt = model
        .tokenizer()
        .unwrap()
        .encode("Once upon a time", ADD_BOS)
        .unwrap();
    let plain = GenerateOptions {
        max_tokens: 40,
        ..Default::default()
    };
    let mut session = model.session(&SessionOptions::default()).unwrap();
    let free = session
        .generate(&prompt, &mut greedy(), &plain, |_| true)
        .unwrap();

    // The prompt: refused before any decode.
    let mut session = model.session(&SessionOptions::default()).unwrap();
    let refused = GenerateOptions {
        blocked_phrases: vec!["UPON".into()],
        ..plain.clone()
    };
    let mut streamed = String::new();
    let error = session
        .generate(&prompt, &mut greedy(), &refused, |piece| {
            streamed.push_str(piece);
            true
        })
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Blocked);
    assert!(
        error
            .message
            .contains("prompt was refused by blocked_phrases"),
        "{}",
        error.message
    );
    assert!(streamed.is_empty() && session.n_past() == 0);

    // The answer: a word the model writes (greedy, so it writes it again) and the prompt does
    // not hold stops it there.
    let word = free
        .text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .find(|w| w.len() >= 4 && !"once upon a time".contains(w.as_str()))
        .expect("the free answer has a word of four letters");
    let stopped = GenerateOptions {
        blocked_phrases: vec![word.clone()],
        ..plain
    };
    let mut session = model.session(&SessionOptions::default()).unwrap();
    let mut streamed = String::new();
    let error = session
        .generate(&prompt, &mut greedy(), &stopped, |piece| {
            streamed.push_str(piece);
            true
        })
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Blocked);
    assert!(
        error
            .message
            .contains("answer was stopped by blocked_phrases"),
        "{}",
        error.message
    );
    assert!(free.text.starts_with(&streamed));
    assert!(!streamed.to_lowercase().contains(&word.to_lowercase()));

    let empty = GenerateOptions {
        blocked_phrases: vec![String::new()],
        ..Default::default()
    };
    let error = session
        .generate(&prompt, &mut greedy(), &empty, |_| true)
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::InvalidArgument);
    assert!(error.message.contains("blocked_phrases[0] is empty"));
}

#[test]
fn the_code_scanner_scans_and_lets_prose_through() {
    let scanner = CodeScanner::builtin().unwrap();
    let json = scanner
        .scan("char b[8];\nstrcpy(b, s);\n", "c", false)
        .unwrap();
    assert!(json.contains("\"rule_id\":\"c.strcpy\"") && json.contains("\"treatment\":\"block\""));
    assert!(
        CodeScanner::from_rules_json("{\"rules\": 3}")
            .unwrap_err()
            .kind
            == ErrorKind::BadFormat
    );
    let Some(path) = data("LLAMA3_TEST_MODEL") else {
        return;
    };
    // stories260K writes no code: the scanner has nothing to stop.
    let model = Model::load(&path).unwrap();
    let options = GenerateOptions {
        max_tokens: 16,
        code_scanner: Some(scanner),
        ..Default::default()
    };
    let mut session = model.session(&SessionOptions::default()).unwrap();
    let result = session
        .generate(&[1], &mut greedy(), &options, |_| true)
        .unwrap();
    assert!(result.n_generated_tokens > 0);
}

#[test]
fn a_guard_blocks_exactly_when_its_verdict_is_not_safe() {
    let Some(path) = data("LLAMA3_TINY_LLAMA31_MODEL") else {
        return;
    };
    let model = Model::load(&path).unwrap();
    assert_eq!(
        Guard::new(&model, &GuardOptions::default())
            .unwrap_err()
            .kind,
        ErrorKind::InvalidArgument // the test model's name names no Llama Guard
    );
    let guard = Guard::new(
        &model,
        &GuardOptions {
            version: GuardVersion::Guard3,
            max_new_tokens: 4,
            n_threads: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let text = "How do I bake bread?";
    let verdict = guard.classify(&[("user", text)]).unwrap();
    assert!(verdict.starts_with("{\"verdict\":\""));
    let safe = verdict.starts_with("{\"verdict\":\"safe\"");
    let prompt = model.tokenizer().unwrap().encode(text, ADD_BOS).unwrap();
    let options = GenerateOptions {
        max_tokens: 3,
        guard: Some(guard.clone()),
        guard_answer: false,
        ..Default::default()
    };
    drop(guard); // the options hold their own handle
    let mut session = model
        .session(&SessionOptions {
            n_ctx: 128,
            n_threads: 1,
            ..Default::default()
        })
        .unwrap();
    let outcome = session.generate(&prompt, &mut greedy(), &options, |_| true);
    if safe {
        assert!(outcome.is_ok() && session.n_past() > 0);
    } else {
        let error = outcome.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Blocked);
        assert!(
            error.message.contains("refused by guard (llama guard: "),
            "{}",
            error.message
        );
        assert_eq!(session.n_past(), 0);
    }
    // The answer is judged once complete; the verdict is a note either way.
    let answer = GenerateOptions {
        guard_prompt: false,
        guard_answer: true,
        ..options.clone()
    };
    let outcome = session.generate(&prompt, &mut greedy(), &answer, |_| true);
    assert!(outcome.is_ok() || outcome.unwrap_err().kind == ErrorKind::Blocked);
    assert!(session
        .filter_notes()
        .unwrap()
        .starts_with("[\"llama guard: "));
    let neither = GenerateOptions {
        guard_prompt: false,
        ..options
    };
    assert_eq!(
        session
            .generate(&prompt, &mut greedy(), &neither, |_| true)
            .unwrap_err()
            .kind,
        ErrorKind::InvalidArgument
    );
}

/// A rank-2 PEFT adapter on layer 0's q_proj of the tiny model (dim 256), written by hand:
/// safetensors (u64 header length, JSON header, f32 data) with adapter_config.json beside it.
fn write_tiny_adapter(folder: &Path) {
    std::fs::create_dir_all(folder).unwrap();
    let (rank, dim) = (2usize, 256usize);
    let a_bytes = rank * dim * 4;
    let mut header = format!(
        "{{\"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight\":{{\"dtype\":\"F32\",\
         \"shape\":[{rank},{dim}],\"data_offsets\":[0,{a_bytes}]}},\
         \"base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight\":{{\"dtype\":\"F32\",\
         \"shape\":[{dim},{rank}],\"data_offsets\":[{a_bytes},{}]}}}}",
        2 * a_bytes
    );
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    for n in 0..2 * rank * dim {
        bytes.extend_from_slice(&(0.05f32 * ((n % 7) as f32 - 3.0)).to_le_bytes());
    }
    std::fs::write(folder.join("adapter_model.safetensors"), bytes).unwrap();
    std::fs::write(
        folder.join("adapter_config.json"),
        "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4}",
    )
    .unwrap();
}

#[test]
fn lora_adapters_change_a_session_and_run_in_engine_requests() {
    let Some(path) = data("LLAMA3_TINY_MODEL") else {
        return;
    };
    let model = Model::load(&path).unwrap();
    assert_eq!(
        LoraAdapter::load(&model, "/nonexistent/adapter")
            .unwrap_err()
            .kind,
        ErrorKind::Io
    );
    let folder = env::temp_dir().join(format!("llama3-rust-lora-{}", std::process::id()));
    write_tiny_adapter(&folder);
    let adapter = LoraAdapter::load(&model, &folder).unwrap();
    assert_eq!(adapter.info(), (2, 2.0));

    let tokens = [1, 5, 9, 200];
    let mut session = model.session(&SessionOptions::default()).unwrap();
    let base = session.decode(&tokens).unwrap().to_vec();
    session.set_adapters(&[(adapter.clone(), 0.0)]).unwrap();
    session.reset().unwrap();
    assert_eq!(session.decode(&tokens).unwrap(), &base[..]); // scale 0: the base, bit for bit
    session.set_adapters(&[(adapter.clone(), 1.0)]).unwrap();
    session.reset().unwrap();
    assert_ne!(session.decode(&tokens).unwrap(), &base[..]);
    session.set_adapters(&[]).unwrap();
    let bad = session
        .set_adapters(&[(adapter.clone(), f32::NAN)])
        .unwrap_err();
    assert_eq!(bad.kind, ErrorKind::InvalidArgument);

    // An engine request names its adapters in the options (a session's generate refuses them).
    let options = GenerateOptions {
        max_tokens: 3,
        adapters: vec![(adapter, 1.0)],
        ..Default::default()
    };
    let refused = session.generate(&tokens, &mut greedy(), &options, |_| true);
    assert_eq!(refused.unwrap_err().kind, ErrorKind::InvalidArgument);
    let engine = Engine::new(&model, &EngineOptions::default()).unwrap();
    let id = engine
        .submit(&tokens, &SamplerParams::default(), &options)
        .unwrap();
    drop(options); // the request keeps the adapter alive
    assert_eq!(engine.wait(id).unwrap().state, RequestState::Finished);
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn speculative_options_keep_greedy_output_and_count_their_work() {
    let Some(path) = data("LLAMA3_TEST_MODEL") else {
        return;
    };
    let model = Model::load(&path).unwrap();
    let prompt = model
        .tokenizer()
        .unwrap()
        .encode("Once upon a time", ADD_BOS)
        .unwrap();
    let plain = GenerateOptions {
        max_tokens: 32,
        ..Default::default()
    };
    let run = |options: &GenerateOptions| {
        let mut session = model.session(&SessionOptions::default()).unwrap();
        session
            .generate(&prompt, &mut greedy(), options, |_| true)
            .unwrap()
    };
    let expected = run(&plain);
    assert_eq!(expected.n_target_passes, 0);
    for options in [
        GenerateOptions {
            lookup_ngram: 3,
            draft_max: 4,
            ..plain.clone()
        },
        GenerateOptions {
            draft_model: Some(model.clone()), // the model drafting for itself
            ..plain.clone()
        },
    ] {
        let result = run(&options);
        assert_eq!(result.text, expected.text);
        assert!(result.n_target_passes > 0 && result.n_draft_accepted <= result.n_drafted);
    }
}

#[test]
fn sampler_candidates_are_what_a_draw_can_return() {
    let logits = [0.5f32, 2.0, 1.0, -1.0, 1.0];
    assert_eq!(greedy().candidates(&logits).unwrap(), vec![(1, 1.0)]);
    let mut top3 = Sampler::new(&SamplerParams {
        temperature: 1.0,
        top_k: 3,
        top_p: 1.0,
        ..Default::default()
    })
    .unwrap();
    let candidates = top3.candidates(&logits).unwrap();
    let tokens: Vec<Token> = candidates.iter().map(|&(t, _)| t).collect();
    assert_eq!(tokens, vec![1, 2, 4]);
    let z = 2.0f64.exp() + 2.0 * 1.0f64.exp();
    assert!((candidates[0].1 as f64 - 2.0f64.exp() / z).abs() < 1e-5);
    assert!(tokens.contains(&top3.sample(&logits).unwrap()));
}
