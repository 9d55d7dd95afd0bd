// A KV cache that holds only layers [first, last) of a model (a pipeline stage's, src/distributed):
// the forward pass names layers by their model-wide index, this view shifts them to the cache's.
#pragma once

#include "runtime/kv_cache.hpp"
#include "runtime/kv_memory.hpp"

namespace llama3::runtime {

class LayerRangeMemory final : public KvMemory {
 public:
  LayerRangeMemory(KvCache& cache, int first_layer) : cache_(cache), first_(first_layer) {}

  void store(int layer, const ForwardRow& row, const float* key, const float* value) override {
    cache_.store(layer - first_, row, key, value);
  }
  void attend(int layer, const ForwardRow& row, int kv_head, const float* queries, int n_queries,
              float scale, float* out) const override {
    cache_.attend(layer - first_, row, kv_head, queries, n_queries, scale, out);
  }
  void attend_rows(int layer, std::span<const ForwardRow> rows, int kv_head, const float* queries,
                   int n_queries, std::size_t head_dim, float scale, float* out) const override {
    cache_.attend_rows(layer - first_, rows, kv_head, queries, n_queries, head_dim, scale, out);
  }

 private:
  KvCache& cache_;
  int first_;
};

}  // namespace llama3::runtime
