// The C ABI of the MPI pipeline (llama3_mpi.h), compiled only into libllama3_mpi.so.
#include <mpi.h>

#include <memory>
#include <mutex>
#include <string>

#include "c_api_engine.hpp"
#include "c_api_safety.hpp"
#include "c_api_support.hpp"
#include "llama3/distributed.hpp"
#include "llama3_mpi.h"

using llama3::capi::guarded;
using llama3::distributed::MpiEnvironment;
using llama3::distributed::Pipeline;

struct llama3_pipeline {
  std::unique_ptr<Pipeline> pipeline;
};

namespace {

// MPI started by llama3_mpi_init (none when the program started it itself).
std::mutex mpi_mutex;
std::unique_ptr<MpiEnvironment>& started_mpi() {
  static auto* mpi = new std::unique_ptr<MpiEnvironment>();
  return *mpi;
}

std::string stats_json(const llama3::distributed::PipelineStats& stats) {
  std::string out = "{\"ranks\":[";
  for (std::size_t r = 0; r < stats.ranks.size(); ++r) {
    const auto& rank = stats.ranks[r];
    if (r > 0) out += ',';
    out += "{\"first_layer\":" + std::to_string(rank.layers.first) +
           ",\"last_layer\":" + std::to_string(rank.layers.last) +
           ",\"compute_seconds\":" + std::to_string(rank.compute_seconds) +
           ",\"wait_seconds\":" + std::to_string(rank.wait_seconds) +
           ",\"messages_sent\":" + std::to_string(rank.messages_sent) +
           ",\"bytes_sent\":" + std::to_string(rank.bytes_sent) +
           ",\"resident_bytes\":" + std::to_string(rank.resident_bytes) + "}";
  }
  out += "],\"decode_calls\":" + std::to_string(stats.decode_calls) +
         ",\"decode_seconds\":" + std::to_string(stats.decode_seconds) + "}";
  return out;
}

}  // namespace

extern "C" {

int32_t llama3_mpi_launched(void) {
  return llama3::distributed::launched_by_mpi() ? 1 : 0;
}

llama3_status llama3_mpi_init(void) {
  return guarded(__func__, [&] {
    std::lock_guard<std::mutex> lock(mpi_mutex);
    if (!started_mpi()) started_mpi() = std::make_unique<MpiEnvironment>();
    return LLAMA3_OK;
  });
}

llama3_status llama3_mpi_finalize(void) {
  return guarded(__func__, [&] {
    std::lock_guard<std::mutex> lock(mpi_mutex);
    started_mpi().reset();
    return LLAMA3_OK;
  });
}

void llama3_mpi_abort(int32_t exit_code) {
  MpiEnvironment::abort(exit_code);
}

llama3_status llama3_pipeline_params_init_sized(llama3_pipeline_params* params,
                                                size_t struct_size) {
  return guarded(__func__, [&] {
    const llama3::distributed::PipelineOptions defaults;
    llama3_pipeline_params full{};
    full.n_ctx = defaults.session.n_ctx;
    full.n_threads = defaults.session.n_threads;
    full.kv_cache_type = LLAMA3_KV_CACHE_F16;
    full.micro_batch = defaults.micro_batch;
    full.timeout_seconds = defaults.timeout_seconds;
    llama3::capi::write_defaults(params, struct_size, full, "llama3_pipeline_params_init");
    return LLAMA3_OK;
  });
}

llama3_status llama3_pipeline_create(const char* path, const llama3_pipeline_params* params,
                                     llama3_pipeline** out_pipeline) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(path != nullptr);
    LLAMA3_REQUIRE(out_pipeline != nullptr);
    *out_pipeline = nullptr;
    llama3_pipeline_params p{};
    llama3_pipeline_params_init(&p);
    if (params != nullptr) {
      llama3::capi::check_struct_size(params->struct_size, sizeof(p), function);
      LLAMA3_READ_FIELD(p, params, n_ctx);
      LLAMA3_READ_FIELD(p, params, n_threads);
      LLAMA3_READ_FIELD(p, params, kv_cache_type);
      LLAMA3_READ_FIELD(p, params, split);
      LLAMA3_READ_FIELD(p, params, n_split);
      LLAMA3_READ_FIELD(p, params, micro_batch);
      LLAMA3_READ_FIELD(p, params, timeout_seconds);
      LLAMA3_READ_FIELD(p, params, use_communicator);
      LLAMA3_READ_FIELD(p, params, communicator);
    }
    LLAMA3_REQUIRE(p.split != nullptr || p.n_split == 0);
    llama3::distributed::PipelineOptions options;
    options.session.n_ctx = p.n_ctx;
    options.session.n_threads = p.n_threads;
    options.session.kv_cache_type = llama3::capi::kv_cache_type(p.kv_cache_type, function);
    if (p.n_split > 0) options.split.assign(p.split, p.split + p.n_split);
    options.micro_batch = p.micro_batch;
    options.timeout_seconds = p.timeout_seconds;
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (initialised == 0) {
      throw llama3::Error(llama3::ErrorCode::kInvalidArgument,
                          "MPI is not running: call llama3_mpi_init (or MPI_Init_thread) first");
    }
    const int communicator =
        p.use_communicator != 0 ? p.communicator : static_cast<int>(MPI_Comm_c2f(MPI_COMM_WORLD));
    auto handle = std::make_unique<llama3_pipeline>();
    handle->pipeline = std::make_unique<Pipeline>(path, communicator, options);
    *out_pipeline = handle.release();
    return LLAMA3_OK;
  });
}

void llama3_pipeline_free(llama3_pipeline* pipeline) {
  delete pipeline;
}

int32_t llama3_pipeline_rank(const llama3_pipeline* pipeline) {
  return pipeline == nullptr ? -1 : pipeline->pipeline->rank();
}

int32_t llama3_pipeline_n_ranks(const llama3_pipeline* pipeline) {
  return pipeline == nullptr ? 0 : pipeline->pipeline->n_ranks();
}

llama3_status llama3_pipeline_layers(const llama3_pipeline* pipeline, int32_t rank,
                                     int32_t* out_first, int32_t* out_last) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(pipeline != nullptr);
    LLAMA3_REQUIRE(out_first != nullptr && out_last != nullptr);
    LLAMA3_REQUIRE(rank >= 0 && rank < pipeline->pipeline->n_ranks());
    const auto span = pipeline->pipeline->layers(rank);
    *out_first = span.first;
    *out_last = span.last;
    return LLAMA3_OK;
  });
}

llama3_status llama3_pipeline_model(const llama3_pipeline* pipeline, llama3_model** out_model) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(pipeline != nullptr);
    LLAMA3_REQUIRE(out_model != nullptr);
    *out_model = new llama3_model{pipeline->pipeline->model()};
    return LLAMA3_OK;
  });
}

llama3_status llama3_pipeline_serve(llama3_pipeline* pipeline) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(pipeline != nullptr);
    pipeline->pipeline->serve();
    return LLAMA3_OK;
  });
}

llama3_status llama3_pipeline_decode(llama3_pipeline* pipeline, const llama3_token* tokens,
                                     size_t n_tokens) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(pipeline != nullptr);
    LLAMA3_REQUIRE(tokens != nullptr || n_tokens == 0);
    pipeline->pipeline->decode(std::span<const llama3::TokenId>(tokens, n_tokens));
    return LLAMA3_OK;
  });
}

llama3_status llama3_pipeline_decode_all_logits(llama3_pipeline* pipeline,
                                                const llama3_token* tokens, size_t n_tokens,
                                                const float** out_logits, size_t* out_n_floats) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(pipeline != nullptr);
    LLAMA3_REQUIRE(tokens != nullptr || n_tokens == 0);
    LLAMA3_REQUIRE(out_logits != nullptr && out_n_floats != nullptr);
    const auto logits =
        pipeline->pipeline->decode_all_logits(std::span<const llama3::TokenId>(tokens, n_tokens));
    *out_logits = logits.empty() ? nullptr : logits.data();
    *out_n_floats = logits.size();
    return LLAMA3_OK;
  });
}

llama3_status llama3_pipeline_logits(const llama3_pipeline* pipeline, const float** out_logits,
                                     size_t* out_n_logits) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(pipeline != nullptr);
    LLAMA3_REQUIRE(out_logits != nullptr && out_n_logits != nullptr);
    const auto logits = pipeline->pipeline->logits();
    *out_logits = logits.empty() ? nullptr : logits.data();
    *out_n_logits = logits.size();
    return LLAMA3_OK;
  });
}

llama3_status llama3_pipeline_generate(llama3_pipeline* pipeline, const llama3_token* prompt,
                                       size_t n_prompt, llama3_sampler* sampler,
                                       const llama3_generate_params* params,
                                       llama3_generate_result* result) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(pipeline != nullptr);
    LLAMA3_REQUIRE(sampler != nullptr);
    LLAMA3_REQUIRE(prompt != nullptr || n_prompt == 0);
    llama3::GenerateOptions options = llama3::capi::generate_options(params, function);
    options.logprobs = false;  // nothing could read them back
    llama3::capi::require(llama3::capi::request_adapters(params, function).empty(), function,
                          "params->n_adapters > 0: LoRA adapters do not run over a pipeline");
    if (result != nullptr) {
      llama3::capi::check_struct_size(result->struct_size, sizeof(llama3_generate_result),
                                      function);
    }
    Pipeline& p = *pipeline->pipeline;
    const std::span<const llama3::TokenId> prompt_ids(prompt, n_prompt);
    const auto blocking = llama3::capi::add_safety_filters(
        params, p.model(), llama3::capi::answer_context(p.model(), p.tokens(), prompt_ids), options,
        function);
    const auto generated = p.generate(prompt_ids, sampler->sampler, options);
    if (result != nullptr) llama3::capi::write_generate_result(generated, *blocking, result);
    return llama3::capi::blocked_status(generated, *blocking, function);
  });
}

llama3_status llama3_pipeline_n_past(const llama3_pipeline* pipeline, int32_t* out_n_past) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(pipeline != nullptr);
    LLAMA3_REQUIRE(out_n_past != nullptr);
    *out_n_past = pipeline->pipeline->n_past();
    return LLAMA3_OK;
  });
}

llama3_status llama3_pipeline_reset(llama3_pipeline* pipeline) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(pipeline != nullptr);
    pipeline->pipeline->reset();
    return LLAMA3_OK;
  });
}

llama3_status llama3_pipeline_truncate(llama3_pipeline* pipeline, int32_t n_tokens) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(pipeline != nullptr);
    pipeline->pipeline->truncate(n_tokens);
    return LLAMA3_OK;
  });
}

llama3_status llama3_pipeline_engine_create(llama3_pipeline* pipeline,
                                            const llama3_engine_params* params,
                                            llama3_engine** out_engine) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(pipeline != nullptr);
    LLAMA3_REQUIRE(out_engine != nullptr);
    *out_engine = nullptr;
    const llama3::EngineOptions options = llama3::capi::engine_options(params, function);
    Pipeline& pipe = *pipeline->pipeline;
    *out_engine = new llama3_engine(pipe.make_engine(options), pipe.model());
    return LLAMA3_OK;
  });
}

int32_t llama3_pipeline_failed(const llama3_pipeline* pipeline) {
  return pipeline != nullptr && pipeline->pipeline->failed() ? 1 : 0;
}

llama3_status llama3_pipeline_stats_json(llama3_pipeline* pipeline, int32_t reset, char* json,
                                         size_t capacity, size_t* out_length) {
  return guarded(__func__, [&](const char* function) {
    LLAMA3_REQUIRE(pipeline != nullptr);
    const std::string out = stats_json(pipeline->pipeline->stats(false));
    const llama3_status status = llama3::capi::copy_out(out.data(), out.size(), 1, json, capacity,
                                                        out_length, /*terminate=*/true, function);
    // Counters are zeroed only once the caller has them.
    if (status == LLAMA3_OK && reset != 0) pipeline->pipeline->stats(true);
    return status;
  });
}

}  // extern "C"
