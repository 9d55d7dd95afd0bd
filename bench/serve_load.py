#!/usr/bin/env python3
"""Load benchmark for any OpenAI-compatible server: N concurrent streaming chat clients.

    python3 bench/serve_load.py http://127.0.0.1:8080 [-c 1,4,8] [-r 4] [-n 128] [-o json]

For each concurrency level C, C clients each send R streaming POST /v1/chat/completions requests
one after another (C*R requests in all, each with its own prompt so that no server answers from a
prefix cache), after one warm-up request that is not counted. Reported per level:

- requests/s: completed requests / wall time of the level;
- generated tokens/s: all generated tokens of the level / its wall time (the aggregate rate);
- TTFT p50 / p99: time from sending a request to the first chunk carrying content, in ms, as
  nearest-rank percentiles over the level's requests (with few requests p99 is the maximum);
- prompt tokens (mean): `usage.prompt_tokens` as the server reported it. Two servers are only
  comparable when they saw the same prompts, token for token: a chat template that renders
  differently changes every other figure, so bench/compare_serve.sh checks this column.

Token counting, the same rule for every server (--count):
- `usage` (default): the request asks for `stream_options: {"include_usage": true}` and the count is
  `usage.completion_tokens` of the stream (OpenAI's final usage chunk; llama.cpp's llama-server and
  `llama3 serve` both send it). A stream without usage is an error, so two servers are never
  compared by different rules.
- `chunks`: the number of chunks whose delta carries content. Equal to tokens only for a server that
  sends one chunk per token; a fallback for servers that cannot report usage.

Standard library only. Exit status 1 when any request failed (the failures are counted in the table).
"""

import argparse
import http.client
import json
import math
import sys
import threading
import time
import urllib.parse

WORDS = ("river stone garden lantern window harbor meadow silver candle forest thunder "
         "pocket ladder orchard compass feather mirror valley whistle blanket").split()


def prompt_text(index, n_words):
    """A distinct user message per request: the first words differ, so no prefix is shared."""
    words = [WORDS[(index * 7 + i * 3 + i * i) % len(WORDS)] for i in range(n_words)]
    return f"Request {index}. Continue this list with a short story: " + " ".join(words)


def percentile(values, p):
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below it."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


class Target:
    def __init__(self, base_url, api_key, model, timeout):
        url = urllib.parse.urlsplit(base_url)
        if url.scheme != "http" or not url.hostname:
            raise SystemExit(f"serve_load: base URL must be http://host[:port], got {base_url!r}")
        self.host, self.port = url.hostname, url.port or 80
        self.prefix = url.path.rstrip("/")
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.timeout = timeout
        self.model = model or self.first_model()

    def connect(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def first_model(self):
        connection = self.connect()
        try:
            connection.request("GET", self.prefix + "/v1/models", headers=self.headers)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"serve_load: GET /v1/models answered {response.status}: {body[:200]!r}")
            models = json.loads(body).get("data") or []
            if not models:
                raise SystemExit("serve_load: GET /v1/models lists no model")
            return models[0]["id"]
        except OSError as error:
            raise SystemExit(f"serve_load: cannot reach {self.host}:{self.port}: {error}")
        finally:
            connection.close()


def stream_request(target, index, args):
    """One streaming chat request. Returns (ttft_s, tokens, error or None, prompt tokens or None)."""
    body = {
        "model": target.model,
        "messages": [{"role": "user", "content": prompt_text(index, args.prompt_words)}],
        "max_tokens": args.max_tokens,
        "temperature": args.temperature,
        "seed": index,
        "stream": True,
    }
    if args.count == "usage":
        body["stream_options"] = {"include_usage": True}
    connection = target.connect()
    started = time.perf_counter()
    ttft = None
    chunks = 0
    usage_tokens = None
    prompt_tokens = None
    try:
        connection.request("POST", target.prefix + "/v1/chat/completions", json.dumps(body),
                           target.headers)
        response = connection.getresponse()
        if response.status != 200:
            return None, 0, f"HTTP {response.status}: {response.read()[:200]!r}", None
        done = False
        while not done:
            line = response.readline()
            if not line:
                return ttft, 0, "stream ended without data: [DONE]", None
            line = line.strip()
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                done = True
                continue
            chunk = json.loads(data)
            if "error" in chunk:
                return ttft, 0, f"error in stream: {chunk['error']}", None
            for choice in chunk.get("choices") or []:
                if (choice.get("delta") or {}).get("content"):
                    if ttft is None:
                        ttft = time.perf_counter() - started
                    chunks += 1
            if chunk.get("usage"):
                usage_tokens = chunk["usage"].get("completion_tokens")
                prompt_tokens = chunk["usage"].get("prompt_tokens")
    except (OSError, http.client.HTTPException, ValueError) as error:
        return ttft, 0, f"{type(error).__name__}: {error}", None
    finally:
        connection.close()
    if ttft is None:
        return None, 0, "no content in the stream", None
    if args.count == "usage":
        if usage_tokens is None:
            return ttft, 0, "the stream carried no usage (try --count chunks)", None
        return ttft, usage_tokens, None, prompt_tokens
    return ttft, chunks, None, prompt_tokens


def run_level(target, clients, args, first_index):
    results = []
    lock = threading.Lock()

    def client(slot):
        for round_index in range(args.rounds):
            index = first_index + round_index * clients + slot
            outcome = stream_request(target, index, args)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    ok = [r for r in results if r[2] is None]
    errors = [r[2] for r in results if r[2] is not None]
    ttfts = [r[0] * 1000 for r in ok]
    tokens = sum(r[1] for r in ok)
    prompt_counts = [r[3] for r in ok if r[3] is not None]
    return {
        "clients": clients,
        "requests": len(ok),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "wall_s": wall,
        "requests_per_s": len(ok) / wall,
        "generated_tokens": tokens,
        "generated_tokens_per_s": tokens / wall,
        "ttft_p50_ms": percentile(ttfts, 50),
        "ttft_p99_ms": percentile(ttfts, 99),
        "prompt_tokens_mean": (sum(prompt_counts) / len(prompt_counts)
                               if prompt_counts else None),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url", help="e.g. http://127.0.0.1:8080")
    parser.add_argument("-c", "--clients", default="1,4,8", help="concurrency levels (default 1,4,8)")
    parser.add_argument("-r", "--rounds", type=int, default=4,
                        help="requests each client sends in turn per level (default 4)")
    parser.add_argument("-n", "--max-tokens", type=int, default=128, help="default 128")
    parser.add_argument("-p", "--prompt-words", type=int, default=48,
                        help="words of filler in each prompt (default 48)")
    parser.add_argument("--temperature", type=float, default=0.0, help="default 0 (greedy)")
    parser.add_argument("--count", choices=("usage", "chunks"), default="usage",
                        help="how generated tokens are counted (default usage; see the header)")
    parser.add_argument("--model", help="model id to ask for (default: the first of /v1/models)")
    parser.add_argument("--api-key", help="sent as a bearer token")
    parser.add_argument("--timeout", type=float, default=600, help="per request, seconds")
    parser.add_argument("--label", default="", help="a name for the server in the output")
    parser.add_argument("-o", "--output", choices=("table", "json"), default="table")
    args = parser.parse_args()
    try:
        levels = [int(c) for c in args.clients.split(",")]
    except ValueError:
        parser.error(f"--clients takes numbers separated by commas, got {args.clients!r}")
    if any(c < 1 for c in levels) or args.rounds < 1 or args.max_tokens < 1:
        parser.error("--clients, --rounds and --max-tokens must be at least 1")

    target = Target(args.base_url, args.api_key, args.model, args.timeout)
    warmup = stream_request(target, 10**6, args)
    if warmup[2] is not None:
        raise SystemExit(f"serve_load: the warm-up request failed: {warmup[2]}")

    rows = []
    first_index = 0
    for clients in levels:
        rows.append(run_level(target, clients, args, first_index))
        first_index += clients * args.rounds

    report = {
        "label": args.label, "base_url": args.base_url, "model": target.model,
        "max_tokens": args.max_tokens, "prompt_words": args.prompt_words,
        "temperature": args.temperature, "rounds": args.rounds, "count": args.count,
        "levels": rows,
    }
    if args.output == "json":
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        name = f"{args.label} " if args.label else ""
        print(f"{name}{args.base_url} model={target.model} max_tokens={args.max_tokens} "
              f"rounds={args.rounds} tokens counted from {args.count}")
        print(f"{'clients':>7} {'requests':>8} {'errors':>6} {'req/s':>7} {'gen tok/s':>9} "
              f"{'TTFT p50 ms':>11} {'TTFT p99 ms':>11} {'prompt tok':>10}")
        for row in rows:
            print(f"{row['clients']:>7} {row['requests']:>8} {row['errors']:>6} "
                  f"{row['requests_per_s']:>7.2f} {row['generated_tokens_per_s']:>9.1f} "
                  f"{row['ttft_p50_ms']:>11.0f} {row['ttft_p99_ms']:>11.0f} "
                  f"{row['prompt_tokens_mean'] or float('nan'):>10.1f}")
    failed = [row for row in rows if row["errors"]]
    for row in failed:
        print(f"serve_load: {row['errors']} of {row['errors'] + row['requests']} requests failed at "
              f"{row['clients']} clients; first: {row['first_error']}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
