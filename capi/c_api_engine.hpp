// The engine handle of the C ABI (llama3_c_engine.cpp), shared with the MPI pipeline's C calls
// (llama3_c_pipeline.cpp), which make one over an engine whose steps run across ranks.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "c_api_safety.hpp"
#include "llama3/engine.hpp"

struct llama3_engine {
  llama3_engine(std::unique_ptr<llama3::Engine> engine, const llama3::Model& model)
      : engine(std::move(engine)), model(model) {}
  std::unique_ptr<llama3::Engine> engine;
  llama3::Model model;  // for the safety filters' prompt text
  // Text polled from the engine but not yet taken by a caller whose buffer was too small, and
  // where each request's safety filters record which one blocked (read by llama3_engine_wait).
  std::mutex mutex;
  std::unordered_map<llama3_request_id, std::string> unread;
  std::unordered_map<llama3_request_id, llama3::capi::BlockingFilter> blocking;
};

namespace llama3::capi {

// llama3_engine_params (NULL: defaults) as EngineOptions, every field checked.
EngineOptions engine_options(const llama3_engine_params* params, const char* function);

}  // namespace llama3::capi
