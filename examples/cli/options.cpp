#include "options.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include "llama3/error.hpp"

namespace llama3::cli {

Options::Options(Args args, std::vector<std::string> flags) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-' || (arg[1] >= '0' && arg[1] <= '9')) {
      positional_.push_back(arg);
    } else if (std::find(flags.begin(), flags.end(), arg) != flags.end()) {
      flags_set_.push_back(arg);
    } else if (i + 1 < args.size()) {
      values_.emplace_back(arg, args[i + 1]);
      ++i;
    } else {
      throw Error(ErrorCode::kInvalidArgument, "option " + arg + " needs a value");
    }
  }
}

bool Options::has(const std::string& name) const {
  return std::find(flags_set_.begin(), flags_set_.end(), name) != flags_set_.end() ||
         get(name).has_value();
}

std::optional<std::string> Options::get(const std::string& name) const {
  for (auto it = values_.rbegin(); it != values_.rend(); ++it) {
    if (it->first == name) return it->second;
  }
  return std::nullopt;
}

std::string Options::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

namespace {
template <typename T, typename Parse>
T parse_number(const std::optional<std::string>& text, const std::string& name, T fallback,
               Parse parse) {
  if (!text) return fallback;
  try {
    std::size_t used = 0;
    T value = parse(*text, &used);
    if (used != text->size()) throw std::invalid_argument("trailing characters");
    return value;
  } catch (const std::exception&) {
    throw Error(ErrorCode::kInvalidArgument,
                "option " + name + ": '" + *text + "' is not a number");
  }
}
}  // namespace

int Options::get_int(const std::string& name, int fallback) const {
  return parse_number<int>(get(name), name, fallback, [](const std::string& s, std::size_t* used) {
    return std::stoi(s, used);
  });
}

float Options::get_float(const std::string& name, float fallback) const {
  return parse_number<float>(
      get(name), name, fallback,
      [](const std::string& s, std::size_t* used) { return std::stof(s, used); });
}

std::uint64_t Options::get_u64(const std::string& name, std::uint64_t fallback) const {
  return parse_number<std::uint64_t>(
      get(name), name, fallback,
      [](const std::string& s, std::size_t* used) { return std::stoull(s, used); });
}

std::string default_model_path() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("LLAMA3_DATA_DIR")) candidates.emplace_back(dir);
  // The build puts the test data beside the programs: build/bin/llama3 -> build/data.
  std::error_code error;
  const auto exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) candidates.push_back(exe.parent_path().parent_path() / "data");
  candidates.emplace_back("build/data");
  for (const auto& dir : candidates) {
    if (fs::exists(dir / "stories260K.gguf")) return (dir / "stories260K.gguf").string();
  }
  throw Error(ErrorCode::kIo,
              "no model given (-m FILE) and the default stories260K.gguf was not found in "
              "$LLAMA3_DATA_DIR or the build's data folder; run scripts/fetch-data.sh");
}

}  // namespace llama3::cli
