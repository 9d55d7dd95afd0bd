"""One-call results: Session.complete(), Model.create_completion() and
Model.create_chat_completion(), shaped as OpenAI's completion objects (as llama-cpp-python returns
them), with chunks of the same shape when stream=True."""
import time
import uuid
from dataclasses import dataclass, field

from ._llama3 import Model, Sampler, Session

# Our stop reasons as OpenAI finish reasons.
_FINISH_REASONS = {
    "end_of_generation": "stop",
    "stop_string": "stop",
    "callback": "stop",
    "max_tokens": "length",
    "context_full": "length",
    "blocked": "content_filter",
    "filtered": "content_filter",
}


@dataclass
class Completion:
    """What Session.complete() returns.

    Attributes:
      text: the generated text, cut before a stop string.
      finish_reason: "stop" (end of generation or a stop string), "length" (max_tokens or a full
        context) or "content_filter".
      stop_reason: the library's own reason ("end_of_generation", "stop_string", "max_tokens", ...).
      tokens: the generated token ids.
      usage: {"prompt_tokens", "completion_tokens", "total_tokens"}.
      timings: {"prompt_ms", "predicted_ms", "prompt_per_second", "predicted_per_second"}.
    """
    text: str
    finish_reason: str
    stop_reason: str
    tokens: list = field(default_factory=list)
    usage: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)


def _rate(count, seconds):
    return count / seconds if seconds > 0 else 0.0


def _finish_reason(stream):
    return _FINISH_REASONS.get(stream.stop_reason, "stop")


def _usage(stream):
    n_prompt, n_generated = stream.n_prompt_tokens, len(stream.tokens)
    return {"prompt_tokens": n_prompt, "completion_tokens": n_generated,
            "total_tokens": n_prompt + n_generated}


def _completion_of(stream):
    n_prompt, n_generated = stream.n_prompt_tokens, len(stream.tokens)
    return Completion(
        text=stream.text,
        finish_reason=_finish_reason(stream),
        stop_reason=stream.stop_reason,
        tokens=list(stream.tokens),
        usage=_usage(stream),
        timings={"prompt_ms": stream.prompt_seconds * 1e3,
                 "predicted_ms": stream.generate_seconds * 1e3,
                 "prompt_per_second": _rate(n_prompt, stream.prompt_seconds),
                 "predicted_per_second": _rate(n_generated, stream.generate_seconds)})


def complete(self, prompt, *, sampler=None, max_tokens=256, stop=None):
    """Generates to the end and returns a Completion (text, finish reason, usage, timings).

    Arguments are those of Session.generate(): prompt (str or list of int), sampler, max_tokens,
    stop (str or list of str).

    Example:
      >>> result = session.complete("Once upon a time", max_tokens=32)
      >>> result.text, result.finish_reason, result.usage["completion_tokens"]
    """
    stream = self.generate(prompt, sampler=sampler, max_tokens=max_tokens, stop=stop)
    for _ in stream:
        pass
    return _completion_of(stream)


def _sampler(temperature, top_p, top_k, min_p, repeat_penalty, frequency_penalty,
             presence_penalty, seed):
    return Sampler(temperature=temperature, top_p=top_p, top_k=top_k, min_p=min_p,
                   repeat_penalty=repeat_penalty, frequency_penalty=frequency_penalty,
                   presence_penalty=presence_penalty, seed=seed)


def _run(model, ids, max_tokens, stop, sampler, n_threads):
    """A stream over a fresh session sized for the prompt and the tokens asked for."""
    if max_tokens is None or max_tokens < 0:
        max_tokens = max(model.context_length - len(ids), 0) if model.context_length else 256
    n_ctx = len(ids) + max_tokens
    if model.context_length:
        n_ctx = min(n_ctx, model.context_length)
    session = model.session(n_ctx=max(n_ctx, 1), n_threads=n_threads)
    return session, session.generate(ids, sampler=sampler, max_tokens=max_tokens, stop=stop)


def _check_str(name, value):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")


def create_completion(self, prompt, *, max_tokens=16, temperature=0.8, top_p=0.95, top_k=40,
                      min_p=0.05, repeat_penalty=1.0, frequency_penalty=0.0, presence_penalty=0.0,
                      stop=None, seed=None, stream=False, n_threads=None):
    """Completes a text prompt in one call, returning an OpenAI "text_completion" dict.

    Arguments follow llama-cpp-python's Llama.create_completion: max_tokens (None or < 0: until the
    context is full), the sampling options (its defaults), stop (str or list of str), seed (None:
    random) and stream. The prompt is encoded with BOS, special-token text parsed.

    Returns:
      {"id", "object": "text_completion", "created", "model", "choices": [{"text", "index",
      "logprobs": None, "finish_reason"}], "usage": {...}}; with stream=True an iterator of chunks
      of the same shape, each carrying one piece of text, the last one with the finish_reason.

    Example:
      >>> out = model.create_completion("Once upon a time", max_tokens=32, seed=1)
      >>> out["choices"][0]["text"]
    """
    _check_str("prompt", prompt)
    ids = self.tokenizer.encode(prompt, add_bos=True, parse_special=True)
    sampler = _sampler(temperature, top_p, top_k, min_p, repeat_penalty, frequency_penalty,
                       presence_penalty, seed)
    session, pieces = _run(self, ids, max_tokens, stop, sampler, n_threads)
    head = {"id": f"cmpl-{uuid.uuid4()}", "object": "text_completion",
            "created": int(time.time()), "model": self.path}

    def chunk(text, finish_reason):
        return dict(head, choices=[{"text": text, "index": 0, "logprobs": None,
                                    "finish_reason": finish_reason}])

    if stream:
        def chunks():
            with session:
                for piece in pieces:
                    yield chunk(piece, None)
                yield dict(chunk("", _finish_reason(pieces)),
                           usage=_usage(pieces))
        return chunks()
    with session:
        for _ in pieces:
            pass
        return dict(chunk(pieces.text, _finish_reason(pieces)),
                    usage=_usage(pieces))


def create_chat_completion(self, messages, *, max_tokens=None, temperature=0.2, top_p=0.95,
                           top_k=40, min_p=0.05, repeat_penalty=1.0, frequency_penalty=0.0,
                           presence_penalty=0.0, stop=None, seed=None, stream=False,
                           n_threads=None):
    """Answers a chat in one call, returning an OpenAI "chat.completion" dict.

    Arguments follow llama-cpp-python's Llama.create_chat_completion: messages as
    [{"role": "system"|"user"|"assistant"|"ipython", "content": str}, ...], encoded in the Llama 3
    chat format of the model (Tokenizer.encode_dialog); max_tokens (None: until the end of the
    turn or a full context); the sampling options (its defaults); stop; seed (None: random); stream.

    Returns:
      {"id", "object": "chat.completion", "created", "model", "choices": [{"index", "message":
      {"role": "assistant", "content"}, "logprobs": None, "finish_reason"}], "usage": {...}}; with
      stream=True an iterator of "chat.completion.chunk" dicts: first {"delta": {"role":
      "assistant"}}, then one {"delta": {"content": piece}} per piece, last {"delta": {}} with the
      finish_reason.

    Example:
      >>> out = model.create_chat_completion([{"role": "user", "content": "Hi!"}], max_tokens=64)
      >>> out["choices"][0]["message"]["content"]
    """
    if not isinstance(messages, (list, tuple)):
        raise TypeError(f"messages must be a list of dicts, not {type(messages).__name__}")
    for message in messages:
        if not isinstance(message, dict):
            raise TypeError(f"each message must be a dict, not {type(message).__name__}")
        _check_str("a message's content", message.get("content"))
    ids = self.tokenizer.encode_dialog(messages, add_generation_prompt=True)
    sampler = _sampler(temperature, top_p, top_k, min_p, repeat_penalty, frequency_penalty,
                       presence_penalty, seed)
    session, pieces = _run(self, ids, max_tokens, stop, sampler, n_threads)
    head = {"id": f"chatcmpl-{uuid.uuid4()}", "created": int(time.time()), "model": self.path}

    if stream:
        def chunks():
            def chunk(delta, finish_reason):
                return dict(head, object="chat.completion.chunk",
                            choices=[{"index": 0, "delta": delta, "logprobs": None,
                                      "finish_reason": finish_reason}])
            with session:
                yield chunk({"role": "assistant"}, None)
                for piece in pieces:
                    yield chunk({"content": piece}, None)
                yield dict(chunk({}, _finish_reason(pieces)),
                           usage=_usage(pieces))
        return chunks()
    with session:
        for _ in pieces:
            pass
        return dict(head, object="chat.completion",
                    choices=[{"index": 0,
                              "message": {"role": "assistant", "content": pieces.text},
                              "logprobs": None,
                              "finish_reason": _finish_reason(pieces)}],
                    usage=_usage(pieces))


Session.complete = complete
Model.create_completion = create_completion
Model.create_chat_completion = create_chat_completion
