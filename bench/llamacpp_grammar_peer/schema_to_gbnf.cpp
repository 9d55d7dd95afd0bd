// Writes llama.cpp's own GBNF for each schema of tests/grammar/benchmark_schemas.hpp, so that
// bench/llamacpp_grammar_peer/grammar_peer.c times llama.cpp's grammar sampler on the grammar
// llama.cpp itself makes from the schema, not on ours:
//   llamacpp_schema_to_gbnf OUT_DIR   (writes OUT_DIR/NAME.gbnf per schema, prints each path)
// The converter is json_schema_to_grammar() of llama.cpp's common library (libllama-common, the
// one llama-server applies to a request's "json_schema"), with force_gbnf so that a build with
// llguidance would still give GBNF. Built outside the repository by
// bench/compare_grammar_llamacpp.sh against the prebuilt library and the headers of its source.
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>

#include "grammar/benchmark_schemas.hpp"
#include "json-schema-to-grammar.h"
#include "json.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: llamacpp_schema_to_gbnf OUT_DIR\n");
    return 2;
  }
  const std::string out_dir = argv[1];
  for (const auto& [name, schema] : llama3::testing::kBenchmarkSchemas) {
    const std::string path = out_dir + "/" + name + ".gbnf";
    try {
      const std::string gbnf = json_schema_to_grammar(common_json::parse(schema), true);
      std::ofstream(path, std::ios::binary) << gbnf;
      std::printf("%s\n", path.c_str());
    } catch (const std::exception& error) {
      // An unsupported keyword: say so and go on; the peer then has no file for this schema.
      std::fprintf(stderr, "%s: llama.cpp's converter refused it: %s\n", name, error.what());
    }
  }
  return 0;
}
