"""llama3.Pipeline from Python, run by mpirun_test.py's `python` case.

Usage: python_pipeline.py MODEL OUT.json alone|pipeline [SPLIT]
  alone     one process: Model.session and llama3.Engine
  pipeline  under `mpirun -np N`: every rank builds llama3.Pipeline; rank 0 does the same work
            through it while the others serve()
Rank 0 (or the lone process) writes what it got to OUT.json: a hash of the prompt's logits, the
greedy generation's text and tokens, and every engine request's tokens and text, which the caller
compares between the two runs.
"""
import hashlib
import json
import sys

import numpy as np

import llama3

PROMPT = "Once upon a time there was a little girl"
ENGINE_PROMPTS = ["Once upon a time", "The dog ran", "Once upon a time there was", "Lily liked"]


def engine_results(engine):
    requests = []
    for i, prompt in enumerate(ENGINE_PROMPTS):
        sampler = (llama3.Sampler(temperature=0) if i % 2 == 0
                   else llama3.Sampler(temperature=0.9, seed=100 + i))
        requests.append(engine.submit(prompt, sampler=sampler, max_tokens=16))
    return [{"text": "".join(request), "tokens": request.tokens,
             "stop_reason": request.stop_reason} for request in requests]


def logits_hash(logits):
    return hashlib.sha256(np.ascontiguousarray(logits, dtype=np.float32).tobytes()).hexdigest()


def alone(path):
    with llama3.Model(path) as model:
        ids = model.tokenizer.encode(PROMPT, add_bos=True)
        session = model.session(n_ctx=256, n_threads=1)
        out = {"logits": logits_hash(session.decode(ids))}
        session.reset()
        stream = session.generate(ids, sampler=llama3.Sampler(temperature=0), max_tokens=12)
        out["generate"] = {"text": "".join(stream), "tokens": stream.tokens}
        session.close()
        with llama3.Engine(model, n_threads=1, n_ctx=256) as engine:
            out["engine"] = engine_results(engine)
    return out


def pipeline(path, split):
    options = {"n_ctx": 256, "n_threads": 1}
    if split:
        options["split"] = [float(x) for x in split.split(",")]
    with llama3.Pipeline(path, **options) as pipe:
        if not pipe.is_root:
            pipe.serve()
            return None
        layers = [pipe.layers(r) for r in range(pipe.n_ranks)]
        assert layers[0][0] == 0 and all(a[1] == b[0] for a, b in zip(layers, layers[1:])), layers
        try:
            pipe.layers(pipe.n_ranks)
            raise AssertionError("layers() of a rank outside the job did not raise")
        except llama3.InvalidArgumentError as e:
            assert "is not in 0.." in str(e), e
        tokenizer_ids = pipe.tokenizer.encode(PROMPT, add_bos=True)
        out = {"logits": logits_hash(pipe.decode(tokenizer_ids))}
        assert pipe.n_past == len(tokenizer_ids), pipe.n_past
        pipe.reset()
        result = pipe.generate(tokenizer_ids, sampler=llama3.Sampler(temperature=0), max_tokens=12)
        out["generate"] = {"text": result["text"], "tokens": result["tokens"]}
        stats = pipe.stats()
        assert len(stats["ranks"]) == pipe.n_ranks, stats
        assert stats["ranks"][-1]["messages_sent"] > 0, stats
        engine = pipe.engine(n_ctx=256)
        out["engine"] = engine_results(engine)
        engine.close()
        out["layers"] = layers
        return out


def main():
    path, out_path, mode = sys.argv[1:4]
    split = sys.argv[4] if len(sys.argv) > 4 else ""
    out = alone(path) if mode == "alone" else pipeline(path, split)
    if out is not None:
        with open(out_path, "w", encoding="utf-8") as f:
            json.dump(out, f)


if __name__ == "__main__":
    main()
