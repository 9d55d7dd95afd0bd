// Encodes a batch of strings with the independent JavaScript encoder llama3-tokenizer-js@1.2.0, for the
// differential test (test_llama3_differential.cpp) and the benchmark (bench/tokenizer_bench.cpp).
//   node js_reference_encode.cjs PACKAGE_DIR INPUT.json OUTPUT.json [--time]
// INPUT.json is an array of strings; OUTPUT.json gets an array of id arrays (no BOS/EOS, and special-token
// text is not parsed, like our encode() with default options). With --time, prints the seconds spent
// encoding; with --time-each, the seconds of each string on a line of its own.
'use strict';
const fs = require('fs');
const path = require('path');

const [packageDir, inputPath, outputPath, flag] = process.argv.slice(2);
const { llama3Tokenizer } = require(
  path.resolve(packageDir, 'bundle', 'commonjs-llama3-tokenizer-with-baked-data.cjs'));
const texts = JSON.parse(fs.readFileSync(inputPath, 'utf8'));
// A regex that never matches: special-token text stays plain text.
const options = { bos: false, eos: false, specialTokenRegex: /(?!)/g };
llama3Tokenizer.encode('warm up', options);
const each = [];
const start = process.hrtime.bigint();
const results = texts.map((text) => {
  const t0 = process.hrtime.bigint();
  const ids = llama3Tokenizer.encode(text, options);
  each.push(Number(process.hrtime.bigint() - t0) / 1e9);
  return ids;
});
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
fs.writeFileSync(outputPath, JSON.stringify(results));
if (flag === '--time') process.stdout.write(`${seconds}\n`);
if (flag === '--time-each') process.stdout.write(each.map((s) => `${s}\n`).join(''));
