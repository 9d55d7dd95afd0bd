// A small command-line option reader shared by the subcommands: `--name value` / `-n value` pairs
// and flags, with errors that say which option is wrong.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "commands.hpp"

namespace llama3::cli {

class Options {
 public:
  // `flags` take no value; every other option starting with '-' takes one. Anything else is
  // positional.
  Options(Args args, std::vector<std::string> flags);

  bool has(const std::string& name) const;
  std::optional<std::string> get(const std::string& name) const;
  std::string get_or(const std::string& name, const std::string& fallback) const;
  int get_int(const std::string& name, int fallback) const;
  float get_float(const std::string& name, float fallback) const;
  std::uint64_t get_u64(const std::string& name, std::uint64_t fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::vector<std::pair<std::string, std::string>> values_;
  std::vector<std::string> flags_set_;
  std::vector<std::string> positional_;
};

// The default model: stories260K.gguf in $LLAMA3_DATA_DIR or build/data.
std::string default_model_path();

}  // namespace llama3::cli
