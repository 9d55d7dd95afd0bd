"""One-call results: Session.complete(), Model.create_completion() and
Model.create_chat_completion(), shaped as OpenAI's completion objects (as llama-cpp-python returns
them), with chunks of the same shape when stream=True."""
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Optional

from ._llama3 import Model, Sampler, Session, parse_tool_calls

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
      logprobs: with logprobs=True, per generated token {"token", "logprob", "top_logprobs"}
        (GenerationStream.logprobs); else None.
    """
    text: str
    finish_reason: str
    stop_reason: str
    tokens: list = field(default_factory=list)
    usage: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)
    logprobs: Optional[list] = None


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
                 "predicted_per_second": _rate(n_generated, stream.generate_seconds)},
        logprobs=stream.logprobs)


def complete(self, prompt, *, sampler=None, max_tokens=256, stop=None, grammar=None,
             json_schema=None, logprobs=False, top_logprobs=0, guard=None, code_scanner=None,
             blocked_phrases=None):
    """Generates to the end and returns a Completion (text, finish reason, usage, timings).

    Arguments are those of Session.generate(): prompt (str or list of int), sampler, max_tokens,
    stop (str or list of str), grammar (GBNF text or a llama3.Grammar), json_schema (str, dict or
    bool), logprobs and top_logprobs, and the safety filters guard (a llama3.Guard), code_scanner
    (a llama3.CodeScanner) and blocked_phrases (str or list of str): a block raises
    llama3.BlockedError.

    Example:
      >>> result = session.complete("Once upon a time", max_tokens=32)
      >>> result.text, result.finish_reason, result.usage["completion_tokens"]
      >>> session.complete("A person as JSON: ", json_schema={"type": "object"}).text
    """
    stream = self.generate(prompt, sampler=sampler, max_tokens=max_tokens, stop=stop,
                           grammar=grammar, json_schema=json_schema, logprobs=logprobs,
                           top_logprobs=top_logprobs, **_safety(guard, code_scanner,
                                                                blocked_phrases))
    for _ in stream:
        pass
    return _completion_of(stream)


def _sampler(temperature, top_p, top_k, min_p, repeat_penalty, frequency_penalty,
             presence_penalty, seed):
    return Sampler(temperature=temperature, top_p=top_p, top_k=top_k, min_p=min_p,
                   repeat_penalty=repeat_penalty, frequency_penalty=frequency_penalty,
                   presence_penalty=presence_penalty, seed=seed)


def _safety(guard, code_scanner, blocked_phrases):
    """Session.generate's safety arguments (see Session.generate)."""
    return {"guard": guard, "code_scanner": code_scanner, "blocked_phrases": blocked_phrases}


def _run(model, ids, max_tokens, stop, sampler, n_threads, **constraints):
    """A stream over a fresh session sized for the prompt and the tokens asked for.
    `constraints`: Session.generate's grammar, json_schema, logprobs, top_logprobs and safety
    filters."""
    if max_tokens is None or max_tokens < 0:
        max_tokens = max(model.context_length - len(ids), 0) if model.context_length else 256
    n_ctx = len(ids) + max_tokens
    if model.context_length:
        n_ctx = min(n_ctx, model.context_length)
    session = model.session(n_ctx=max(n_ctx, 1), n_threads=n_threads)
    return session, session.generate(ids, sampler=sampler, max_tokens=max_tokens, stop=stop,
                                     **constraints)


def _piece_text(tokenizer, token):
    return tokenizer.piece(token).decode("utf-8", errors="replace")


def _piece_bytes(tokenizer, token):
    return list(tokenizer.piece(token))


def _completion_logprobs(tokenizer, entries):
    """OpenAI's legacy completion shape: tokens, token_logprobs, top_logprobs, text_offset."""
    if entries is None:
        return None
    tokens, offsets, offset = [], [], 0
    for entry in entries:
        text = _piece_text(tokenizer, entry["token"])
        tokens.append(text)
        offsets.append(offset)
        offset += len(text)
    return {"tokens": tokens,
            "token_logprobs": [entry["logprob"] for entry in entries],
            "top_logprobs": [{_piece_text(tokenizer, top["token"]): top["logprob"]
                              for top in entry["top_logprobs"]} for entry in entries],
            "text_offset": offsets}


def _chat_logprobs(tokenizer, entries):
    """OpenAI's chat shape: {"content": [{"token", "logprob", "bytes", "top_logprobs"}]}."""
    if entries is None:
        return None

    def item(token, logprob):
        return {"token": _piece_text(tokenizer, token), "logprob": logprob,
                "bytes": _piece_bytes(tokenizer, token)}

    return {"content": [dict(item(entry["token"], entry["logprob"]),
                             top_logprobs=[item(top["token"], top["logprob"])
                                           for top in entry["top_logprobs"]])
                        for entry in entries]}


def _response_format_schema(response_format):
    """OpenAI's response_format as a JSON Schema (None: unconstrained)."""
    if response_format is None:
        return None
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return response_format.get("schema", {"type": "object"})
    if kind == "json_schema":
        return response_format.get("json_schema", {}).get("schema", {})
    raise ValueError(f"response_format type must be text, json_object or json_schema, not {kind!r}")


def _tool_definitions(tools):
    """OpenAI tool entries as the definitions the Llama 3.1 templates render."""
    if tools is None:
        return ()
    if not isinstance(tools, (list, tuple)):
        raise TypeError(f"tools must be a list of dicts, not {type(tools).__name__}")
    return [json.dumps(tool, ensure_ascii=False) for tool in tools]


def _dialog(messages):
    """OpenAI chat messages as encode_dialog's: role "tool" is Llama's "ipython", an assistant
    message with tool_calls is a tool-call turn in the templates' JSON form."""
    dialog = []
    for message in messages:
        if not isinstance(message, dict):
            raise TypeError(f"each message must be a dict, not {type(message).__name__}")
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                function = call.get("function", call)
                arguments = function.get("arguments", {})
                if isinstance(arguments, str):
                    arguments = json.loads(arguments)
                calls.append(json.dumps({"name": function["name"], "parameters": arguments},
                                        ensure_ascii=False))
            dialog.append({"role": "assistant", "content": "; ".join(calls), "tool_call": True})
            continue
        content = message.get("content")
        _check_str("a message's content", content)
        dialog.append({"role": "ipython" if role == "tool" else role, "content": content,
                       "tool_call": bool(message.get("tool_call", False))})
    return dialog


def _tool_calls_message(tokenizer, tokens):
    """The answer as an OpenAI assistant message: tool_calls when it holds calls, else content."""
    parsed = parse_tool_calls(tokenizer.decode(tokens, render_special=True))
    if not parsed["tool_calls"]:
        return None
    return {"role": "assistant", "content": None,
            "tool_calls": [{"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                            "function": {"name": call["name"],
                                         "arguments": json.dumps(call["arguments"],
                                                                 ensure_ascii=False)}}
                           for call in parsed["tool_calls"]]}


def _check_str(name, value):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")


def create_completion(self, prompt, *, max_tokens=16, temperature=0.8, top_p=0.95, top_k=40,
                      min_p=0.05, repeat_penalty=1.0, frequency_penalty=0.0, presence_penalty=0.0,
                      stop=None, seed=None, stream=False, n_threads=None, grammar=None,
                      json_schema=None, logprobs=None, guard=None, code_scanner=None,
                      blocked_phrases=None):
    """Completes a text prompt in one call, returning an OpenAI "text_completion" dict.

    Arguments follow llama-cpp-python's Llama.create_completion: max_tokens (None or < 0: until the
    context is full), the sampling options (its defaults), stop (str or list of str), seed (None:
    random) and stream. The prompt is encoded with BOS, special-token text parsed.
    grammar (GBNF text or a llama3.Grammar) or json_schema (str, dict or bool) constrain the text;
    logprobs=N (0..20) reports each token's logprob and the N most likely alternatives.
    guard (a llama3.Guard), code_scanner (a llama3.CodeScanner) and blocked_phrases (str or list
    of str) are Session.generate's safety filters: a block raises llama3.BlockedError (when
    streaming, after the chunks allowed through).

    Returns:
      {"id", "object": "text_completion", "created", "model", "choices": [{"text", "index",
      "logprobs", "finish_reason"}], "usage": {...}}; logprobs is None or OpenAI's {"tokens",
      "token_logprobs", "top_logprobs", "text_offset"}. With stream=True an iterator of chunks
      of the same shape, each carrying one piece of text, the last one with the finish_reason
      (and the logprobs of the whole text).

    Example:
      >>> out = model.create_completion("Once upon a time", max_tokens=32, seed=1)
      >>> out["choices"][0]["text"]
    """
    _check_str("prompt", prompt)
    tokenizer = self.tokenizer
    ids = tokenizer.encode(prompt, add_bos=True, parse_special=True)
    sampler = _sampler(temperature, top_p, top_k, min_p, repeat_penalty, frequency_penalty,
                       presence_penalty, seed)
    session, pieces = _run(self, ids, max_tokens, stop, sampler, n_threads, grammar=grammar,
                           json_schema=json_schema, logprobs=logprobs is not None,
                           top_logprobs=logprobs or 0,
                           **_safety(guard, code_scanner, blocked_phrases))
    head = {"id": f"cmpl-{uuid.uuid4()}", "object": "text_completion",
            "created": int(time.time()), "model": self.path}

    def chunk(text, finish_reason, token_logprobs=None):
        return dict(head, choices=[{"text": text, "index": 0, "logprobs": token_logprobs,
                                    "finish_reason": finish_reason}])

    if stream:
        def chunks():
            with session:
                for piece in pieces:
                    yield chunk(piece, None)
                yield dict(chunk("", _finish_reason(pieces),
                                 _completion_logprobs(tokenizer, pieces.logprobs)),
                           usage=_usage(pieces))
        return chunks()
    with session:
        for _ in pieces:
            pass
        return dict(chunk(pieces.text, _finish_reason(pieces),
                          _completion_logprobs(tokenizer, pieces.logprobs)),
                    usage=_usage(pieces))


def create_chat_completion(self, messages, *, max_tokens=None, temperature=0.2, top_p=0.95,
                           top_k=40, min_p=0.05, repeat_penalty=1.0, frequency_penalty=0.0,
                           presence_penalty=0.0, stop=None, seed=None, stream=False,
                           n_threads=None, grammar=None, json_schema=None, response_format=None,
                           tools=None, logprobs=False, top_logprobs=0, guard=None,
                           code_scanner=None, blocked_phrases=None):
    """Answers a chat in one call, returning an OpenAI "chat.completion" dict.

    Arguments follow llama-cpp-python's Llama.create_chat_completion: messages as
    [{"role": "system"|"user"|"assistant"|"ipython"|"tool", "content": str}, ...], encoded in the
    Llama 3 chat format of the model (Tokenizer.encode_dialog); an assistant message may carry
    OpenAI "tool_calls" instead of content, and "tool" is Llama's "ipython" (a tool's result);
    max_tokens (None: until the end of the turn or a full context); the sampling options (its
    defaults); stop; seed (None: random); stream.
      grammar / json_schema: constrain the answer (GBNF text or a llama3.Grammar / a JSON Schema).
      response_format: OpenAI's {"type": "json_object"} (any JSON object) or {"type":
        "json_schema", "json_schema": {"schema": {...}}}.
      tools: OpenAI tool definitions ({"type": "function", "function": {"name", "description",
        "parameters"}}), rendered as the Llama 3.1+ templates do. A call in the answer comes back
        as message["tool_calls"] with finish_reason "tool_calls"; a malformed one as content.
      logprobs, top_logprobs (0..20): each token's logprob and the most likely alternatives.
      guard, code_scanner, blocked_phrases: Session.generate's safety filters; a block raises
        llama3.BlockedError (when streaming, after the chunks allowed through).

    Returns:
      {"id", "object": "chat.completion", "created", "model", "choices": [{"index", "message":
      {"role": "assistant", "content"} or {"role", "content": None, "tool_calls": [{"id", "type":
      "function", "function": {"name", "arguments": JSON str}}]}, "logprobs": None or {"content":
      [...]}, "finish_reason"}], "usage": {...}}; with stream=True an iterator of
      "chat.completion.chunk" dicts: first {"delta": {"role": "assistant"}}, then one {"delta":
      {"content": piece}} per piece, last {"delta": {}} with the finish_reason (and the logprobs).

    Example:
      >>> out = model.create_chat_completion([{"role": "user", "content": "Hi!"}], max_tokens=64)
      >>> out["choices"][0]["message"]["content"]
    """
    if not isinstance(messages, (list, tuple)):
        raise TypeError(f"messages must be a list of dicts, not {type(messages).__name__}")
    format_schema = _response_format_schema(response_format)
    if format_schema is not None:
        if json_schema is not None or grammar is not None:
            raise ValueError("give response_format, json_schema or grammar, not several")
        json_schema = format_schema
    tokenizer = self.tokenizer
    ids = tokenizer.encode_dialog(_dialog(messages), add_generation_prompt=True,
                                  tools=_tool_definitions(tools))
    sampler = _sampler(temperature, top_p, top_k, min_p, repeat_penalty, frequency_penalty,
                       presence_penalty, seed)
    session, pieces = _run(self, ids, max_tokens, stop, sampler, n_threads, grammar=grammar,
                           json_schema=json_schema, logprobs=logprobs,
                           top_logprobs=top_logprobs,
                           **_safety(guard, code_scanner, blocked_phrases))
    head = {"id": f"chatcmpl-{uuid.uuid4()}", "created": int(time.time()), "model": self.path}

    if stream:
        def chunks():
            def chunk(delta, finish_reason, token_logprobs=None):
                return dict(head, object="chat.completion.chunk",
                            choices=[{"index": 0, "delta": delta, "logprobs": token_logprobs,
                                      "finish_reason": finish_reason}])
            with session:
                yield chunk({"role": "assistant"}, None)
                for piece in pieces:
                    yield chunk({"content": piece}, None)
                yield dict(chunk({}, _finish_reason(pieces),
                                 _chat_logprobs(tokenizer, pieces.logprobs)),
                           usage=_usage(pieces))
        return chunks()
    with session:
        for _ in pieces:
            pass
        message = {"role": "assistant", "content": pieces.text}
        finish_reason = _finish_reason(pieces)
        if tools:
            calls = _tool_calls_message(tokenizer, pieces.tokens)
            if calls is not None:
                message, finish_reason = calls, "tool_calls"
        return dict(head, object="chat.completion",
                    choices=[{"index": 0, "message": message,
                              "logprobs": _chat_logprobs(tokenizer, pieces.logprobs),
                              "finish_reason": finish_reason}],
                    usage=_usage(pieces))


Session.complete = complete
Model.create_completion = create_completion
Model.create_chat_completion = create_chat_completion
