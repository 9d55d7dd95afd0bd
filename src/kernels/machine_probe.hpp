// Measured limits of the machine a benchmark runs on, so that "% of bound" compares a speed with
// what this machine gave in the same run rather than with a constant from another day: on shared
// hosts the read bandwidth alone moves by more than half between days.
#pragma once

#include <cstddef>

#include "io/tensor_type.hpp"
#include "kernels/thread_pool.hpp"

namespace llama3::kernels {

// Bytes per second that the pool's threads read from a buffer of `bytes` (far larger than any
// cache), each thread its own slice in four interleaved streams; the best of `rounds`. Generation
// reads every weight once per token, so this bounds its speed.
double measure_read_bandwidth(ThreadPool& pool, std::size_t bytes = std::size_t{512} << 20,
                              int rounds = 3);

// Operations per second (2 per multiply-add) of matmul at the active arch on a cache-resident
// `type` matrix for a 64-token batch: the rate the prompt path reaches when memory is not the
// limit. Best of several passes.
double measure_matmul_peak(ThreadPool& pool, io::TensorType type);

}  // namespace llama3::kernels
