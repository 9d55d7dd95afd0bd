// Browser test of the chat page (GET /): writes a tiny random-weight model with the Llama 3 vocabulary
// (chat needs the Llama 3 header tokens, which stories260K's vocabulary lacks), starts `llama3 serve`
// on it on a free loopback port, opens the page in a real Chromium (Debian's, driven by playwright-core), types a message and checks that
// the answer arrives streamed (the answer element changes at more than one moment), that the request
// carried the system prompt and temperature from the page, that Stop ends a long answer and the
// server then reports the generation cancelled and its slot free, and that the page asked no other
// host for anything. Then it stops the server.
//
//   node tests/server/browser_chat.mjs --bin build/bin --vocab build/data/ggml-vocab-llama-bpe.gguf \
//        --node-modules build/node/node_modules
//
// Exits 77 (ctest's skip) when Chromium, playwright-core or the vocabulary cannot be found.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const SKIP = 77;
const options = { bin: "", vocab: "", "node-modules": "", chromium: process.env.CHROMIUM || "" };
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i].replace(/^--/, "");
  if (!(name in options) || i + 1 >= process.argv.length) {
    console.error(`browser_chat: unknown or incomplete option ${process.argv[i]}`);
    process.exit(2);
  }
  options[name] = process.argv[i + 1];
}

function skip(why) {
  console.log(`SKIPPED: ${why}`);
  process.exit(SKIP);
}

function findOnPath(names) {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    for (const name of names) {
      const candidate = path.join(dir, name);
      if (dir && existsSync(candidate)) return candidate;
    }
  }
  return "";
}

const chromiumPath = options.chromium || findOnPath(["chromium", "chromium-browser"]);
if (!chromiumPath) skip("no chromium on PATH (Debian: apt-get install chromium; or set CHROMIUM)");
if (!options.vocab || !existsSync(options.vocab)) {
  skip(`vocabulary ${options.vocab || "(none)"} not found (scripts/fetch-data.sh)`);
}
const llama3 = path.join(options.bin, "llama3");
const makeTestModel = path.join(options.bin, "make_test_model");
for (const program of [llama3, makeTestModel]) {
  if (!existsSync(program)) {
    console.error(`browser_chat: ${program} not found (--bin)`);
    process.exit(1);
  }
}
let chromium;
try {
  const require = createRequire(path.join(path.resolve(options["node-modules"] || "."), "x.js"));
  ({ chromium } = require("playwright-core"));
} catch (error) {
  skip(`playwright-core not installed (bash scripts/node-env.sh): ${error.message}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitHealthy(base, server, output) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      throw new Error(`llama3 serve exited with ${server.exitCode}:\n${output.join("")}`);
    }
    try {
      const response = await fetch(`${base}/health`);
      if (response.status === 200) return;
    } catch { /* not listening yet */ }
    await sleep(100);
  }
  throw new Error(`llama3 serve did not answer /health within 60 s:\n${output.join("")}`);
}

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`ok - ${message}`);
}

const scratch = mkdtempSync(path.join(os.tmpdir(), "llama3-browser-chat-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
const model = path.join(scratch, "tiny-llama3-vocab.gguf");
const made = spawnSync(makeTestModel,
  ["--out", model, "--shape", "tiny", "--type", "q8_0", "--vocab", options.vocab],
  { encoding: "utf8" });
if (made.status !== 0) {
  console.error(`browser_chat: make_test_model failed:\n${made.stderr}`);
  process.exit(1);
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const serverOutput = [];
const server = spawn(llama3,
  ["serve", "-m", model, "--host", "127.0.0.1", "--port", String(port), "--threads", "1"],
  { stdio: ["ignore", "pipe", "pipe"] });
server.stdout.on("data", (data) => serverOutput.push(data.toString()));
server.stderr.on("data", (data) => serverOutput.push(data.toString()));

let browser;
let failed = false;
try {
  await waitHealthy(base, server, serverOutput);
  browser = await chromium.launch({
    executablePath: chromiumPath, headless: true,
    // As root (CI) Chromium refuses its sandbox; nothing but our own page is loaded.
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  const page = await browser.newPage();
  const foreign = [];
  const chats = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(base + "/")) foreign.push(request.url());
    if (request.url() === `${base}/v1/chat/completions`) chats.push(request.postDataJSON());
  });
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));

  const response = await page.goto(`${base}/`);
  check(response.status() === 200, "GET / answers 200");
  check((response.headers()["content-type"] || "").startsWith("text/html"), "GET / is text/html");
  await page.waitForFunction(() => document.getElementById("model").textContent !== "",
                             null, { timeout: 10_000 });

  // Record the answer's text each time the DOM changes, with the time, inside the page.
  await page.evaluate(() => {
    window.answerUpdates = [];
    new MutationObserver(() => {
      const answers = document.querySelectorAll(".msg.assistant");
      const last = answers[answers.length - 1];
      if (last) window.answerUpdates.push({ at: performance.now(), text: last.textContent });
    }).observe(document.getElementById("log"), { childList: true, subtree: true,
                                                  characterData: true });
  });
  await page.fill("#system", "You tell short stories.");
  await page.fill("#temperature", "0");
  await page.fill("#max-tokens", "200");
  await page.fill("#message", "Once upon a time");
  await page.press("#message", "Enter");
  // The page adds the answer element and disables Send in one go, and enables Send again when the
  // stream has ended (however quickly that was).
  await page.waitForFunction(() => document.querySelector(".msg.assistant, .msg.error") &&
                                   !document.getElementById("send").disabled,
                             null, { timeout: 120_000 });

  const updates = await page.evaluate(() => window.answerUpdates);
  const errors = await page.$$eval(".msg.error", (elements) => elements.map((e) => e.textContent));
  check(errors.length === 0, `no error message on the page ${JSON.stringify(errors)}`);
  const answer = await page.$eval("#log .msg:last-child", (element) => element.textContent);
  check(answer.length > 0, `an answer arrived (${answer.length} characters)`);
  const distinct = new Set(updates.map((u) => u.text).filter((t) => t.length > 0));
  const moments = new Set(updates.filter((u) => u.text.length > 0).map((u) => u.at));
  const streamed = updates.filter((u) => u.text.length > 0);
  console.log(`# ${answer.length} characters in ${
    Math.round(streamed.at(-1).at - streamed[0].at)} ms after the first`);
  check(distinct.size > 1 && moments.size > 1,
        `the answer grew in ${distinct.size} steps at ${moments.size} moments (streamed)`);
  check(chats.length === 1, "one chat request");
  const body = chats[0];
  check(body.stream === true, "the request streams");
  check(body.temperature === 0 && body.max_tokens === 200, "temperature and max_tokens from the page");
  check(body.messages[0].role === "system" && body.messages[0].content === "You tell short stories.",
        "the system prompt leads the messages");
  check(body.messages.at(-1).role === "user" && body.messages.at(-1).content === "Once upon a time",
        "the typed message is the last one");

  // Stop: a long answer, stopped as soon as its first text shows. The page keeps the partial answer
  // and marks it; the server sees the connection close, cancels the generation and frees the slot.
  await page.fill("#max-tokens", "1500");
  await page.fill("#message", "Go on");
  await page.press("#message", "Enter");
  await page.waitForFunction(() => {
    const answers = document.querySelectorAll(".msg.assistant");
    return answers.length === 2 && answers[1].textContent.length > 0;
  }, null, { timeout: 60_000 });
  await page.click("#stop");
  await page.waitForFunction(() => !document.getElementById("send").disabled, null,
                             { timeout: 10_000 });
  const stopped = await page.$eval("#log .msg:last-child", (element) => element.className);
  check(stopped === "msg assistant stopped", `Stop ends the answer early, marked (${stopped})`);
  check(chats.length === 2 && chats[1].messages.length === 4,
        "the second request carries the first exchange");
  let metrics = "";
  for (let i = 0; i < 100; ++i) {
    metrics = await (await fetch(`${base}/metrics`)).text();
    if (/^llama3_requests_cancelled_total 1$/m.test(metrics) &&
        /^llama3_slots_busy 0$/m.test(metrics)) break;
    await sleep(100);
  }
  check(/^llama3_requests_cancelled_total 1$/m.test(metrics) &&
        /^llama3_slots_busy 0$/m.test(metrics),
        "the server cancelled the stopped request and freed its slot (/metrics)");
  check(foreign.length === 0, `no request to another host ${JSON.stringify(foreign)}`);
  check(pageErrors.length === 0, `no script error ${JSON.stringify(pageErrors)}`);
} catch (error) {
  failed = true;
  console.error(`not ok - ${error.stack || error}`);
  console.error(`server output:\n${serverOutput.join("").slice(-4000)}`);
} finally {
  if (browser) await browser.close();
  const alreadyExited = server.exitCode !== null || server.signalCode !== null;
  if (!alreadyExited) server.kill("SIGTERM");
  const exited = alreadyExited || await Promise.race([
    new Promise((resolve) => server.once("exit", () => resolve(true))),
    sleep(15_000).then(() => false)]);
  if (!exited) {
    server.kill("SIGKILL");
    console.error("not ok - llama3 serve did not exit within 15 s of SIGTERM");
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
