// Helpers for the quantize/convert command tests: running the `llama3` tool, logits of a model, and
// how far two logit arrays are apart.
#pragma once

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "llama3/model.hpp"
#include "llama3/session.hpp"
#include "support/hf_test_models.hpp"
#include "support/model_logits.hpp"

namespace llama3::testing {

// Runs `llama3 ARGS`, returns its stdout; throws when it fails.
inline std::string run_llama3(const std::string& args) {
  const auto out = hf_process_dir() / "llama3-stdout.txt";
  std::filesystem::create_directories(out.parent_path());
  run_program("llama3", args + " > " + out.string());
  std::ifstream in(out);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// "TYPE TENSORS MIB RMSE" lines of the tool's report -> relative RMSE per type name.
inline std::map<std::string, double> reported_rmse(const std::string& report) {
  std::map<std::string, double> rmse;
  std::istringstream lines(report);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string type;
    int tensors = 0;
    double mib = 0.0, error = 0.0;
    if (fields >> type >> tensors >> mib >> error) rmse[type] = error;
  }
  return rmse;
}

inline std::vector<float> model_logits(const Model& model) {
  return all_position_logits(model);
}

// ||a - b|| / ||b||
inline double relative_difference(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0.0, norm = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(b[i]) * b[i];
  }
  return a.size() == b.size() ? std::sqrt(diff / norm) : INFINITY;
}

}  // namespace llama3::testing
