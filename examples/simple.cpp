// simple.cpp — text generation with the public C++ API: load, tokenize, sample, stream pieces.
//
//   simple_cpp MODEL.gguf [PROMPT] [N_TOKENS] [SEED] [TEMPERATURE]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "llama3/error.hpp"
#include "llama3/model.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"

int main(int argc, char** argv) try {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s MODEL.gguf [PROMPT] [N_TOKENS] [SEED] [TEMPERATURE]\n",
                 argv[0]);
    return 2;
  }
  const std::string prompt = argc > 2 ? argv[2] : "Once upon a time";
  const llama3::Model model = llama3::Model::load(argv[1]);
  llama3::Session session(model);

  llama3::SamplerParams params;
  params.seed = argc > 4 ? std::strtoull(argv[4], nullptr, 10) : 42;
  params.temperature = argc > 5 ? std::strtof(argv[5], nullptr) : 0.8f;
  llama3::Sampler sampler(params);

  llama3::GenerateOptions options;
  options.max_tokens = argc > 3 ? std::atoi(argv[3]) : 64;
  options.on_piece = [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    return true;  // keep going
  };
  const auto tokens = model.tokenizer().encode(prompt, {.add_bos = true, .parse_special = true});
  std::printf("%s", prompt.c_str());
  session.generate(tokens, sampler, options);
  std::printf("\n");
  return 0;
} catch (const llama3::Error& error) {
  std::fprintf(stderr, "error (%s): %s\n", llama3::error_code_name(error.code()), error.what());
  return 1;
}
