// The official `openai` npm package against `llama3 serve` (run by openai_npm_test.sh): starts the
// server on a free loopback port, checks greedy completions (whole and streamed) against
// `llama3 generate`'s text, the model list and a 404 for an unknown model, then stops the server
// with SIGTERM and checks that it exits 0.
//   node openai_npm_client.mjs LLAMA3_BINARY MODEL EXPECTED_TEXT
import { spawn } from "node:child_process";
import assert from "node:assert/strict";
import OpenAI from "openai";

const [binary, model, expected] = process.argv.slice(2);
const server = spawn(binary, ["serve", "-m", model, "--port", "0", "-t", "1"], {
  stdio: ["ignore", "ignore", "pipe"],
});
const port = await new Promise((resolve, reject) => {
  let text = "";
  server.stderr.on("data", (chunk) => {
    text += chunk;
    const match = text.match(/listening on http:\/\/[^:]+:(\d+)/);
    if (match) resolve(Number(match[1]));
  });
  server.on("exit", (code) => reject(new Error(`server exited ${code}: ${text}`)));
});
const exited = new Promise((resolve) => server.on("exit", (code) => resolve(code)));
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; ++i) {
  const health = await fetch(`${base}/health`).catch(() => null);
  if (health && health.status === 200) break;
  assert.ok(i < 600, "server not ready in time");
  await new Promise((r) => setTimeout(r, 50));
}

try {
  const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0 });
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ["stories260K"]);

  const request = { model: "stories260K", prompt: "Once upon a time", max_tokens: 40, temperature: 0 };
  const whole = await client.completions.create(request);
  assert.equal(whole.choices[0].text, expected);
  assert.equal(whole.choices[0].finish_reason, "length");
  assert.equal(whole.usage.completion_tokens, 40);

  const stream = await client.completions.create({ ...request, stream: true });
  let streamed = "";
  let finish = null;
  for await (const chunk of stream) {
    streamed += chunk.choices[0]?.text ?? "";
    finish = chunk.choices[0]?.finish_reason ?? finish;
  }
  assert.equal(streamed, expected);
  assert.equal(finish, "length");

  await assert.rejects(client.completions.create({ ...request, model: "gpt-9" }),
                       (error) => error instanceof OpenAI.NotFoundError);
  console.log("openai npm client: 5 checks passed");
} finally {
  server.kill("SIGTERM");
}
assert.equal(await exited, 0);
