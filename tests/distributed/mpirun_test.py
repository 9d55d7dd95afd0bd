"""`mpirun -np N llama3 generate` against one process: the same tokens and the same logits, bit for
bit; a stopped (hung) or killed rank ends the job with an error instead of a hang; ranks that
disagree on their options, or a split that leaves a rank without layers, stop with a message
naming the difference.

The engine over the pipeline (`generate --parallel`, `serve`) gives one process's answers too, and
so do llama3.Pipeline from Python and the C ABI's llama3_pipeline.

Usage: mpirun_test.py CASE...   (cases: tiny, 1b, engine, serve, hang, kill, disagree, netns,
       python, capi)
Needs LLAMA3_BIN_DIR (llama3, make_test_model) and LLAMA3_DATA_DIR. Exits 77 (skipped) when
mpirun, the data or (netns) the network namespaces are missing, saying why.
"""
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BIN = pathlib.Path(os.environ.get("LLAMA3_BIN_DIR", "build/bin"))
DATA = pathlib.Path(os.environ.get("LLAMA3_DATA_DIR", "build/data"))
LLAMA3 = str(BIN / "llama3")
SKIP = 77


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


def mpirun_prefix(n_ranks):
    command = ["mpirun", "--oversubscribe", "-np", str(n_ranks)]
    if os.geteuid() == 0:
        command.append("--allow-run-as-root")
    return command


def run(command, timeout=600):
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    return result


def generate(model, n_ranks, scratch, tag, extra):
    """Runs generate (in one process when n_ranks is 0) and returns (json result, logits bytes)."""
    logits_path = scratch / f"logits-{tag}-{n_ranks}.bin"
    command = [LLAMA3, "generate", "-m", str(model), "-p", "Once upon a time", "-t", "1", "-o",
               "json", "--dump-logits", str(logits_path)] + extra
    if n_ranks:
        command = mpirun_prefix(n_ranks) + command
    result = run(command)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    return json.loads(result.stdout), logits_path.read_bytes()


def check_identical(model, rank_counts, scratch, n_tokens, extra_runs=(), common=()):
    sampling = [("greedy", ["--temp", "0"]), ("seeded", ["--temp", "0.9", "-s", "1234"])]
    for name, options in sampling:
        options = options + ["-n", str(n_tokens)] + list(common)
        alone, alone_logits = generate(model, 0, scratch, name, options)
        assert len(alone["tokens"]) > 0, alone
        if "--context-shift" in common:  # the run must have gone past a full context
            assert len(alone["tokens"]) == n_tokens, (len(alone["tokens"]), alone["stop_reason"])
        runs = [(n, []) for n in rank_counts] + list(extra_runs)
        for n_ranks, more in runs:
            split, split_logits = generate(model, n_ranks, scratch, name, options + more)
            label = f"{model.name} {name} -np {n_ranks} {' '.join(more)}"
            assert split["tokens"] == alone["tokens"], (label, split["tokens"], alone["tokens"])
            assert split["text"] == alone["text"], label
            assert split_logits == alone_logits, f"{label}: logits differ"
            print(f"ok: {label}: {len(split['tokens'])} tokens and {len(split_logits)} logit "
                  "bytes identical to one process")


def test_model_1b(scratch):
    """A 1B-shaped model (the real Llama 3.2 1B widths, the real vocabulary) cut to 4 layers."""
    path = DATA / "mpi-test-1b-4layers-q4_0.gguf"
    if not path.exists():
        vocab = DATA / "ggml-vocab-llama-bpe.gguf"
        if not vocab.exists():
            skip(f"{vocab} is missing (scripts/fetch-data.sh)")
        partial = path.with_suffix(".partial")
        result = run([str(BIN / "make_test_model"), "--out", str(partial), "--shape", "1b",
                      "--layers", "4", "--type", "q4_0", "--vocab", "llama3"], timeout=1800)
        if result.returncode != 0:
            raise AssertionError(f"make_test_model failed:\n{result.stderr[-2000:]}")
        partial.rename(path)
    return path


def case_tiny(scratch):
    model = DATA / "stories260K.gguf"
    if not model.exists():
        skip(f"{model} is missing (scripts/fetch-data.sh)")
    check_identical(model, [2, 3], scratch, 40,
                    extra_runs=[(2, ["--split", "1,4"]), (2, ["--split", "0.3,0.7"]),
                                (3, ["--micro-batch", "1"])])
    # A 48-position context that fills twice over: every rank drops the same positions and
    # re-rotates its own layers' keys, and the tokens stay one process's.
    check_identical(model, [2, 3], scratch, 100,
                    common=["-c", "48", "--context-shift", "--keep", "4"])


def case_1b(scratch):
    check_identical(test_model_1b(scratch), [2, 3], scratch, 6)


SHARED = ("Once upon a time there was a little girl named Lily who lived in a small house near the "
          "woods with her mother and her father and a big dog named Max")
# 64 tokens with the BOS, two whole blocks: a request repeating it after the first finished its
# prompt finds both blocks cached and copies the second before recomputing its last token.
WHOLE_BLOCKS = SHARED + ". Max liked to run and play"


def generate_parallel(model, n_ranks, prompts, options):
    """stdout of `generate --parallel 3` (one process when n_ranks is 0)."""
    command = [LLAMA3, "generate", "-m", str(model), "-f", str(prompts), "--parallel", "3",
               "-t", "1"] + options
    if n_ranks:
        command = mpirun_prefix(n_ranks) + command
    result = run(command)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def case_engine(scratch):
    """The batched engine over the pipeline: many sequences per step, prefix-cache copies,
    preemption in a small KV pool and prompt-lookup drafts, against the engine in one process."""
    model = DATA / "stories260K.gguf"
    if not model.exists():
        skip(f"{model} is missing (scripts/fetch-data.sh)")
    prompts = scratch / "prompts.txt"
    # Prompts sharing a prefix reuse cached blocks; repeats of WHOLE_BLOCKS copy a shared one.
    prompts.write_text("\n".join([WHOLE_BLOCKS, "The little dog", SHARED, SHARED + " and",
                                   WHOLE_BLOCKS, WHOLE_BLOCKS, SHARED]) + "\n")
    settings = [["--temp", "0", "-n", "40"], ["--temp", "0.9", "-s", "1234", "-n", "40"],
                ["--temp", "0", "-n", "40", "--lookup", "2"],
                ["--temp", "0.8", "-s", "5", "-n", "60", "--kv-tokens", "192"]]
    for options in settings:
        alone = generate_parallel(model, 0, prompts, options)
        assert all(f"[{k}] " in alone for k in range(1, 8)), alone
        for n_ranks, more in [(2, []), (3, ["--split", "1,1,3"]), (2, ["--micro-batch", "1"])]:
            split = generate_parallel(model, n_ranks, prompts, options + more)
            label = f"generate --parallel 3 {' '.join(options + more)} -np {n_ranks}"
            assert split == alone, (label, split, alone)
            print(f"ok: {label}: 7 answers identical to one process")


def free_port():
    import socket
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def served_completions(model, n_ranks, bodies):
    """Starts `llama3 serve` (under mpirun when n_ranks), posts each body to /v1/completions,
    stops the server and returns the answers' choices."""
    import urllib.request
    port = free_port()
    command = [LLAMA3, "serve", "-m", str(model), "--port", str(port), "-t", "1", "--parallel",
               "2"]
    if n_ranks:
        command = mpirun_prefix(n_ranks) + command
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.time() > deadline:
                raise AssertionError(f"server did not become ready: {server.stderr.read()}")
            time.sleep(0.2)
        answers = []
        for body in bodies:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/v1/completions", data=json.dumps(body).encode(),
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=120) as response:
                answers.append(json.loads(response.read())["choices"])
        return answers
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def case_serve(scratch):
    """`mpirun -np 2 llama3 serve`: the same completions, with the same top logprobs, as one
    process serving."""
    model = DATA / "stories260K.gguf"
    if not model.exists():
        skip(f"{model} is missing (scripts/fetch-data.sh)")
    bodies = [{"prompt": text, "max_tokens": 24, "temperature": 0, "logprobs": 3}
              for text in ["Once upon a time", SHARED, "The little dog"]]
    bodies.append({"prompt": "Tom went", "max_tokens": 24, "temperature": 0.9, "seed": 42})
    alone = served_completions(model, 0, bodies)
    for n_ranks in (2, 3):
        split = served_completions(model, n_ranks, bodies)
        assert split == alone, (n_ranks, split, alone)
        print(f"ok: serve -np {n_ranks}: {len(bodies)} completions (text and logprobs) identical "
              "to one process")


def ranks_of(mpirun_pid):
    """{rank: pid} of the processes mpirun started (their environment names their rank)."""
    ranks = {}
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            parent = int(next(line.split()[1] for line in status.splitlines()
                              if line.startswith("PPid:")))
            if parent != mpirun_pid:
                continue
            environ = (entry / "environ").read_bytes().split(b"\0")
        except (OSError, StopIteration):
            continue
        for variable in environ:
            if variable.startswith(b"OMPI_COMM_WORLD_RANK="):
                ranks[int(variable.split(b"=")[1])] = int(entry.name)
    return ranks


def interrupt_rank(sig, timeout_seconds, scratch):
    """Starts a long 2-rank generation, sends `sig` to rank 1 once text flows, and returns
    (exit code, stderr, seconds from the signal to the end)."""
    model = test_model_1b(scratch)
    command = mpirun_prefix(2) + [LLAMA3, "generate", "-m", str(model), "-p", "Once upon a time",
                                  "-n", "2000", "-c", "4096", "--temp", "0", "-t", "1",
                                  "--mpi-timeout", str(timeout_seconds)]
    err_path = scratch / f"stderr-{sig}.txt"
    with open(err_path, "w") as err:
        job = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err)
        try:
            first = job.stdout.read(len("Once upon a time") + 1)  # the prompt, then a token
            assert first, "the job printed nothing"
            ranks = ranks_of(job.pid)
            assert 1 in ranks, f"rank 1 not found among mpirun's children: {ranks}"
            os.kill(ranks[1], sig)
            signalled = time.monotonic()
            job.stdout.read()
            code = job.wait(timeout=timeout_seconds + 120)
            elapsed = time.monotonic() - signalled
        finally:
            if job.poll() is None:
                job.kill()
            for pid in ranks_of(job.pid).values():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
    return code, err_path.read_text(), elapsed


def case_hang(scratch):
    # SIGSTOP: rank 1 is alive but never answers, as a hung machine; only our timeout ends it.
    code, stderr, elapsed = interrupt_rank(signal.SIGSTOP, 5, scratch)
    assert code != 0, "a hung rank must not end in success"
    assert "no answer within 5 s" in stderr and "died or hangs" in stderr, stderr
    print(f"ok: a stopped rank 1 ended the job after {elapsed:.1f} s with rank 0's message: " +
          next(line for line in stderr.splitlines() if "no answer" in line))


def case_kill(scratch):
    code, stderr, elapsed = interrupt_rank(signal.SIGKILL, 30, scratch)
    assert code != 0, "a killed rank must not end in success"
    assert elapsed < 60, f"the job took {elapsed:.0f} s to end after the kill"
    print(f"ok: a killed rank 1 ended the job in {elapsed:.1f} s (exit {code})")


def case_disagree(scratch):
    model = DATA / "stories260K.gguf"
    if not model.exists():
        skip(f"{model} is missing")
    common = [LLAMA3, "generate", "-m", str(model), "-p", "hi", "-n", "2"]
    command = mpirun_prefix(1) + common + ["-c", "64", ":", "-np", "1"] + common + ["-c", "128"]
    result = run(command, timeout=120)
    assert result.returncode != 0
    assert "rank 1 disagrees with rank 0 on the run options" in result.stderr, result.stderr
    print("ok: ranks with different -c stop: " +
          next(line for line in result.stderr.splitlines() if "disagrees" in line))
    # Splits that cannot work stop every rank with rank 0's message.
    for split, message in [("5,0", "holds a value that is not positive"),
                           ("1,2,2", "names 3 ranks, but the pipeline has 2"),
                           ("0.01,0.99", "leaves rank 0 without a layer")]:
        result = run(mpirun_prefix(2) + common + ["--split", split], timeout=120)
        assert result.returncode != 0, split
        assert message in result.stderr, (split, result.stderr)
        print(f"ok: --split {split} is refused: {message}")


def case_netns(scratch):
    """Two ranks in two network namespaces joined by a veth pair, Open MPI over TCP between the
    namespaces' own addresses: the same tokens and logits as one process."""
    model = DATA / "stories260K.gguf"
    if not model.exists():
        skip(f"{model} is missing")
    how = ("run as root (or with CAP_NET_ADMIN) on a Linux host: "
           "ctest -R mpi_netns --output-on-failure")
    if shutil.which("ip") is None:
        skip(f"no `ip` command (iproute2); {how}")
    suffix = str(os.getpid())
    spaces = [f"llama3-mpi-a{suffix}", f"llama3-mpi-b{suffix}"]
    veths = [f"l3a{suffix}"[:15], f"l3b{suffix}"[:15]]
    addresses = ["10.231.0.1", "10.231.0.2"]
    probe = run(["ip", "netns", "add", spaces[0]])
    if probe.returncode != 0:
        skip(f"cannot create a network namespace ({probe.stderr.strip()}); {how}")
    try:
        steps = [["ip", "netns", "add", spaces[1]],
                 ["ip", "link", "add", veths[0], "type", "veth", "peer", "name", veths[1]]]
        for space, veth, address in zip(spaces, veths, addresses):
            steps += [["ip", "link", "set", veth, "netns", space],
                      ["ip", "-n", space, "addr", "add", f"{address}/24", "dev", veth],
                      ["ip", "-n", space, "link", "set", veth, "up"],
                      ["ip", "-n", space, "link", "set", "lo", "up"]]
        for step in steps:
            result = run(step)
            if result.returncode != 0:
                skip(f"{' '.join(step)} failed ({result.stderr.strip()}); {how}")
        # mpirun starts each rank through this launcher in the rank's namespace, as rsh would on
        # another host; the hostfile names the namespaces as hosts.
        launcher = scratch / "netns-launch.sh"
        launcher.write_text("#!/bin/sh\n# $1 is the namespace mpirun treats as a host\n"
                            "host=$1; shift\nexec ip netns exec \"$host\" sh -c \"$*\"\n")
        launcher.chmod(0o755)
        hostfile = scratch / "hostfile"
        hostfile.write_text("".join(f"{space} slots=1\n" for space in spaces))
        alone, alone_logits = generate(model, 0, scratch, "netns", ["--temp", "0", "-n", "24"])
        logits_path = scratch / "logits-netns-split.bin"
        # Rank 0 runs from the first namespace too (mpirun's own host is not in the hostfile's
        # namespaces, so both ranks are launched through the agent).
        command = ["ip", "netns", "exec", spaces[0]] + [
            "mpirun", "-np", "2", "--hostfile", str(hostfile), "--map-by", "node",
            "--mca", "plm_rsh_agent", str(launcher), "--mca", "plm_rsh_no_tree_spawn", "1",
            "--mca", "btl", "tcp,self", "--mca", "btl_tcp_if_include", "10.231.0.0/24",
            "--mca", "oob_tcp_if_include", "10.231.0.0/24",
            "-x", "LLAMA3_DATA_DIR", "-x", "PATH"]
        if os.geteuid() == 0:
            command.append("--allow-run-as-root")
        command += [LLAMA3, "generate", "-m", str(model), "-p", "Once upon a time", "-t", "1",
                    "-o", "json", "--dump-logits", str(logits_path), "--temp", "0", "-n", "24"]
        result = run(command, timeout=300)
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        split = json.loads(result.stdout)
        assert split["tokens"] == alone["tokens"], (split["tokens"], alone["tokens"])
        assert logits_path.read_bytes() == alone_logits
        print(f"ok: two namespaces over a veth pair (Open MPI TCP on {addresses}): "
              f"{len(split['tokens'])} tokens and the logits identical to one process")
    finally:
        for space in spaces:
            run(["ip", "netns", "del", space])


def case_python(scratch):
    """llama3.Pipeline from Python (python_pipeline.py): decode's logits, generate and an engine
    over the pipeline at -np 2 and -np 3 give what Model.session and llama3.Engine give alone."""
    python = os.environ.get("LLAMA3_TEST_PYTHON", sys.executable)
    script = str(pathlib.Path(__file__).with_name("python_pipeline.py"))
    probe = run([python, "-c", "import llama3, sys; sys.exit(0 if llama3.HAS_MPI else 3)"])
    if probe.returncode == 3:
        skip("this build's Python module has no MPI pipeline (llama3.HAS_MPI is False)")
    if probe.returncode != 0:
        skip(f"the Python module does not import: {probe.stderr[-500:]}")
    model = DATA / "stories260K.gguf"
    if not model.exists():
        skip(f"{model} is missing (scripts/fetch-data.sh)")

    def outcome(n_ranks, split=""):
        out = scratch / f"python-{n_ranks}-{split}.json"
        command = [python, script, str(model), str(out), "pipeline" if n_ranks else "alone"]
        if split:
            command.append(split)
        if n_ranks:
            command = mpirun_prefix(n_ranks) + ["-x", "PYTHONPATH"] + command
        result = run(command)
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n"
                                 f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        return json.loads(out.read_text())

    alone = outcome(0)
    assert alone["generate"]["tokens"] and len(alone["engine"]) == 4, alone
    for n_ranks, split in [(2, ""), (3, "1,1,3")]:
        split_run = outcome(n_ranks, split)
        label = f"python -np {n_ranks} {split}"
        assert len(split_run["layers"]) == n_ranks, (label, split_run["layers"])
        for key in ("logits", "generate", "engine"):
            assert split_run[key] == alone[key], (label, key, split_run[key], alone[key])
        print(f"ok: {label}: logits, generate and {len(alone['engine'])} engine requests "
              "identical to one process")


def case_capi(scratch):
    """The pipeline through the C ABI (tests/capi/test_c_pipeline.c, libllama3_mpi.so): decode's
    logits, generate and an engine at -np 2 and -np 3 print what a session and an engine print in
    one process."""
    program = BIN / "test_c_pipeline"
    if not program.exists():
        skip(f"{program} is missing (a build without libllama3_mpi)")
    model = DATA / "stories260K.gguf"
    if not model.exists():
        skip(f"{model} is missing (scripts/fetch-data.sh)")

    def outcome(n_ranks):
        command = [str(program), str(model), "pipeline" if n_ranks else "alone"]
        if n_ranks:
            command = mpirun_prefix(n_ranks) + command
        result = run(command)
        if result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} exited {result.returncode}:\n"
                                 f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
        return result.stdout

    alone = outcome(0)
    lines = alone.splitlines()
    assert len(lines) == 5 and lines[0].startswith("logits: ") and lines[1] != "generate: ", alone
    for n_ranks in (2, 3):
        split = outcome(n_ranks)
        assert split == alone, f"-np {n_ranks}:\n{split}\none process:\n{alone}"
        print(f"ok: C ABI -np {n_ranks}: logits, generate and 3 engine requests identical")


CASES = {"tiny": case_tiny, "1b": case_1b, "engine": case_engine, "serve": case_serve,
         "hang": case_hang, "kill": case_kill, "disagree": case_disagree, "netns": case_netns,
         "python": case_python, "capi": case_capi}


def main():
    if shutil.which("mpirun") is None:
        skip("mpirun is not installed (apt-get install openmpi-bin libopenmpi-dev)")
    names = sys.argv[1:] or list(CASES)
    with tempfile.TemporaryDirectory(prefix="llama3-mpirun-") as scratch:
        for name in names:
            CASES[name](pathlib.Path(scratch))


if __name__ == "__main__":
    main()
