// Writes the seed corpus of every fuzz target into OUT/<target>/, from the project's own writers
// (GgufWriter, SafetensorsWriter, the torch.save-layout writer, Session::save_state, ChatFormat's
// inputs) and small valid documents, so the fuzzers start from inputs that reach deep into each
// parser.
//   usage: fuzz_make_seeds OUT_DIR   (LLAMA3_DATA_DIR must hold stories260K.gguf)
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "fuzz_support.hpp"
#include "io/gguf.hpp"
#include "io/pytorch_checkpoint.hpp"
#include "io/safetensors.hpp"
#include "llama3/model.hpp"
#include "llama3/session.hpp"
#include "tokenizer/byte_level.hpp"
#include "tokenizer/vocab_files.hpp"

namespace fs = std::filesystem;

namespace {

void write_seed(const fs::path& folder, const std::string& name, std::string_view bytes) {
  fs::create_directories(folder);
  std::ofstream out(folder / name, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + (folder / name).string());
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A one-layer model with a four-token vocabulary: every llama.* key the config reader checks and
// every tensor the loader expects, so mutations start past the header checks.
void gguf_seeds(const fs::path& folder) {
  const std::uint64_t dim = 32, ffn = 64, vocab = 4, heads = 4, kv_heads = 2;
  llama3::io::GgufWriter writer;
  writer.set_string("general.architecture", "llama");
  writer.set_uint32("llama.context_length", 64);
  writer.set_uint32("llama.embedding_length", dim);
  writer.set_uint32("llama.block_count", 1);
  writer.set_uint32("llama.feed_forward_length", ffn);
  writer.set_uint32("llama.attention.head_count", heads);
  writer.set_uint32("llama.attention.head_count_kv", kv_heads);
  writer.set_float32("llama.rope.freq_base", 500000.0f);
  writer.set_float32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  writer.set_uint32("llama.vocab_size", vocab);
  writer.set_string("tokenizer.ggml.model", "gpt2");
  writer.set_string("tokenizer.ggml.pre", "llama-bpe");
  writer.set_string_array("tokenizer.ggml.tokens", {"a", "b", "ab", "<|begin_of_text|>"});
  writer.set_int32_array("tokenizer.ggml.token_type", {1, 1, 1, 3});
  writer.set_string_array("tokenizer.ggml.merges", {"a b"});
  writer.set_uint32("tokenizer.ggml.bos_token_id", 3);
  const std::uint64_t kv_dim = dim / heads * kv_heads;
  struct Shape {
    const char* name;
    std::vector<std::uint64_t> ne;
  };
  const std::vector<Shape> shapes = {
      {"token_embd.weight", {dim, vocab}},      {"output_norm.weight", {dim}},
      {"blk.0.attn_norm.weight", {dim}},        {"blk.0.attn_q.weight", {dim, dim}},
      {"blk.0.attn_k.weight", {dim, kv_dim}},   {"blk.0.attn_v.weight", {dim, kv_dim}},
      {"blk.0.attn_output.weight", {dim, dim}}, {"blk.0.ffn_norm.weight", {dim}},
      {"blk.0.ffn_gate.weight", {dim, ffn}},    {"blk.0.ffn_up.weight", {dim, ffn}},
      {"blk.0.ffn_down.weight", {ffn, dim}}};
  std::vector<std::uint64_t> sizes;
  for (const Shape& shape : shapes) {
    writer.add_tensor(shape.name, shape.ne, llama3::io::TensorType::kF32);
    std::uint64_t n = 1;
    for (std::uint64_t d : shape.ne) n *= d;
    sizes.push_back(n * sizeof(float));
  }
  const fs::path path = folder / "tiny-model.gguf";
  fs::create_directories(folder);
  writer.write(path, [&](std::size_t index, std::vector<std::byte>& out) {
    out.insert(out.end(), sizes[index], std::byte{0x3c});
  });
}

void safetensors_seeds(const fs::path& folder) {
  llama3::io::SafetensorsWriter writer;
  writer.add_tensor("model.norm.weight", llama3::io::SafetensorsDtype::kBF16, {8});
  writer.add_tensor("lm_head.weight", llama3::io::SafetensorsDtype::kF32, {3, 8});
  writer.set_metadata("format", "pt");
  fs::create_directories(folder);
  writer.write(folder / "small.safetensors", [](std::size_t index, std::vector<std::byte>& out) {
    out.insert(out.end(), index == 0 ? 16 : 96, std::byte{0x3f});
  });
}

// torch.save layouts from our writer: the tensor types and ranks a Meta checkpoint holds, plain
// and zip64, plus a bare pickle in an archive.
void pytorch_checkpoint_seeds(const fs::path& folder) {
  using llama3::io::TorchDtype;
  std::vector<llama3::io::PytorchTensorToWrite> tensors = {
      {"tok_embeddings.weight",
       TorchDtype::kBF16,
       {4, 8},
       std::vector<std::byte>(64, std::byte{0x3f})},
      {"norm.weight", TorchDtype::kF32, {8}, std::vector<std::byte>(32, std::byte{0x3f})},
      {"layers.0.attention.wq.weight",
       TorchDtype::kF16,
       {2, 8},
       std::vector<std::byte>(32, std::byte{0x3c})}};
  const auto write = [&](const std::string& name, const std::vector<std::byte>& bytes) {
    write_seed(folder, name,
               std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  };
  write("three.pth", llama3::io::pytorch_checkpoint_bytes(tensors, "consolidated"));
  write("three-zip64.pth", llama3::io::pytorch_checkpoint_bytes(tensors, "archive", true));
  tensors.resize(1);
  write("one.pth", llama3::io::pytorch_checkpoint_bytes(tensors));
}

void hf_config_seeds(const fs::path& folder) {
  write_seed(folder, "config.json", R"({"architectures": ["LlamaForCausalLM"],
 "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2,
 "num_hidden_layers": 2, "vocab_size": 300, "max_position_embeddings": 131072,
 "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "tie_word_embeddings": true,
 "bos_token_id": 128000, "eos_token_id": [128001, 128008, 128009], "torch_dtype": "bfloat16",
 "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
   "original_max_position_embeddings": 8192, "rope_type": "llama3"}})");
  write_seed(
      folder, "generation_config.json",
      R"({"do_sample": true, "temperature": 0.6, "top_p": 0.9, "eos_token_id": [128001, 128009]})");
  write_seed(
      folder, "tokenizer_config.json",
      R"({"chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}"})");
}

// Byte 0 of a vocab_files input picks the parser: even is tokenizer.json, odd tokenizer.model.
void vocab_file_seeds(const fs::path& folder) {
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  for (int byte = 0; byte < 256; ++byte) {
    vocab[llama3::detail::byte_level_encode(std::string(1, static_cast<char>(byte)))] = byte;
  }
  vocab[llama3::detail::byte_level_encode(" t")] = 256;
  vocab[llama3::detail::byte_level_encode("he")] = 257;
  nlohmann::ordered_json root = {
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"Ġ t", "h e"}}}},
      {"added_tokens", {{{"id", 258}, {"content", "<|begin_of_text|>"}, {"special", true}}}},
      {"pre_tokenizer",
       {{"type", "Split"},
        {"pattern", {{"Regex", std::string(llama3::detail::kLlama3SplitPattern)}}}}}};
  write_seed(folder, "tokenizer-json", std::string(1, '\0') + root.dump());

  static const char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto base64 = [](std::string_view bytes) {
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
      std::uint32_t chunk = static_cast<unsigned char>(bytes[i]) << 16;
      if (i + 1 < bytes.size()) chunk |= static_cast<unsigned char>(bytes[i + 1]) << 8;
      if (i + 2 < bytes.size()) chunk |= static_cast<unsigned char>(bytes[i + 2]);
      for (std::size_t k = 0; k < 4; ++k) {
        out += k <= bytes.size() - i ? kBase64[(chunk >> (18 - 6 * k)) & 63] : '=';
      }
    }
    return out;
  };
  std::string ranks;
  for (int byte = 0; byte < 256; ++byte) {
    ranks += base64(std::string(1, static_cast<char>(byte))) + " " + std::to_string(byte) + "\n";
  }
  ranks += base64(" t") + " 256\n" + base64("he") + " 257\n";
  write_seed(folder, "tokenizer-model", std::string(1, '\1') + ranks);
}

// Byte 0 of a tokenizer_roundtrip input picks the mode (bit 0: decode ids; bit 1: specials).
void tokenizer_seeds(const fs::path& folder, const fs::path& data) {
  std::string text = read_file(data / "tinystories_sample_cs336.txt").substr(0, 2000);
  write_seed(folder, "story", std::string(1, '\0') + text);
  write_seed(folder, "specials",
             std::string(1, '\2') +
                 "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
                 "héllo wörld 12345 ‽ 😀<|eot_id|>");
  const std::int32_t ids[] = {128000, 9906, 1917, 128009, 0, 127999};
  write_seed(folder, "ids",
             std::string(1, '\3') + std::string(reinterpret_cast<const char*>(ids), sizeof ids));
}

void session_state_seeds(const fs::path& folder, const fs::path& data) {
  const llama3::Model model = llama3::Model::load(data / "stories260K.gguf");
  llama3::Session session(model, llama3::SessionOptions{.n_ctx = 64, .n_threads = 1});
  const std::vector<llama3::TokenId> prompt{1, 403, 407, 261, 378};
  (void)session.decode(prompt);
  const std::vector<std::byte> state = session.save_state();
  write_seed(folder, "five-tokens",
             std::string_view(reinterpret_cast<const char*>(state.data()), state.size()));
}

// Byte 0 of a chat input: bit 0 style 3.1, bit 1 ipython, bit 2 built-in tools, bit 3 generation
// prompt. Messages are separated by NUL, each led by its role byte (0 system, 1 user,
// 2 assistant, 3 ipython; 0x12 an assistant tool call).
void chat_seeds(const fs::path& folder) {
  using namespace std::string_literals;
  write_seed(folder, "dialog",
             "\x0f"s +
                 "\x00You are terse.\0\x01What is 2+2?\0\x02"
                 "4\0\x01<|eot_id|>and?"s);
  write_seed(folder, "tool-call",
             "\x0b\x01Weather in Paris?\0\x12{\"name\": \"get_weather\", \"parameters\": "
             "{\"city\": \"Paris\"}}\0\x03{\"temp\": 21}"s);
  write_seed(folder, "pythonic", "\x01[get_weather(city=\"Paris\"), get_time(tz='CET')]"s);
  write_seed(folder, "builtin", "\x05<|python_tag|>brave_search.call(query=\"llama\")<|eom_id|>"s);
}

// Byte 0 of a grammar input picks GBNF (0), JSON Schema (1) or regex (2); byte 1 says how many of
// the final bytes steer the walk.
void grammar_seeds(const fs::path& folder) {
  using namespace std::string_literals;
  write_seed(folder, "gbnf",
             "\x00\x04"s +
                 "root ::= greeting (\" \" name)?\ngreeting ::= \"hello\" | \"hi\"\n"
                 "name ::= [a-z]+ ws\nws ::= [ \\t\\n]*\n" +
                 "\x01\x07\x03\x09");
  write_seed(folder, "schema",
             "\x01\x03"s +
                 R"({"type":"object","properties":{"name":{"type":"string","maxLength":8},)"
                 R"("age":{"type":"integer","minimum":0},"tags":{"type":"array","items":)"
                 R"({"enum":["a","b"]},"maxItems":3}},"required":["name"],)"
                 R"("additionalProperties":false,"$defs":{"x":{"anyOf":[{"const":1},)"
                 R"({"$ref":"#/$defs/x"}]}}})" +
                 "\x02\x05\x08");
  write_seed(folder, "regex", "\x02\x02"s + "[A-Z][a-z]{1,5}( [0-9]+)?\\.|(yes|no)" + "\x04\x06");
}

// Byte 0 of a server_request input: even reads a chat completion, odd a completion.
void server_request_seeds(const fs::path& folder) {
  using namespace std::string_literals;
  write_seed(folder, "chat",
             "\0"s + R"({"model":"tiny","messages":[{"role":"system","content":"Be brief."},)"
                     R"({"role":"user","content":"Hi"}],"max_tokens":8,"temperature":0.7,)"
                     R"("top_p":0.9,"seed":3,"stop":["\n","END"],"logprobs":true,"top_logprobs":2,)"
                     R"("presence_penalty":0.5,"frequency_penalty":0.1,"logit_bias":{"15":-100},)"
                     R"("stream":true,"stream_options":{"include_usage":true}})");
  write_seed(folder, "tools",
             "\0"s + R"({"messages":[{"role":"user","content":"Weather?"},{"role":"assistant",)"
                     R"("tool_calls":[{"id":"c1","type":"function","function":{"name":"w",)"
                     R"("arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"c1",)"
                     R"("content":"21C"}],"tools":[{"type":"function","function":{"name":"w",)"
                     R"("parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],)"
                     R"("tool_choice":"auto"})");
  write_seed(folder, "json-schema",
             "\0"s + R"({"messages":[{"role":"user","content":"x"}],"response_format":{"type":)"
                     R"("json_schema","json_schema":{"name":"n","schema":{"type":"object",)"
                     R"("properties":{"a":{"type":"integer"}},"required":["a"]}}}})");
  write_seed(folder, "completion",
             "\1"s + R"({"prompt":"Once upon a time","max_tokens":5,"echo":true,"top_k":4,)"
                     R"("min_p":0.05,"repeat_penalty":1.1})");
  write_seed(folder, "token-prompt", "\1"s + R"({"prompt":[128000,9906,1917],"max_tokens":3})");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_make_seeds OUT_DIR\n");
    return 2;
  }
  const fs::path out = argv[1];
  const fs::path data = llama3::fuzz::data_file("stories260K.gguf").parent_path();
  try {
    gguf_seeds(out / "gguf");
    fs::copy_file(data / "stories260K.gguf", out / "gguf" / "stories260K.gguf",
                  fs::copy_options::overwrite_existing);
    safetensors_seeds(out / "safetensors");
    hf_config_seeds(out / "hf_config");
    pytorch_checkpoint_seeds(out / "pytorch_checkpoint");
    vocab_file_seeds(out / "vocab_files");
    tokenizer_seeds(out / "tokenizer_roundtrip", data);
    session_state_seeds(out / "session_state", data);
    chat_seeds(out / "chat");
    grammar_seeds(out / "grammar");
    server_request_seeds(out / "server_request");
  } catch (const std::exception& error) {
    std::fprintf(stderr, "fuzz_make_seeds: %s\n", error.what());
    return 1;
  }
  return 0;
}
