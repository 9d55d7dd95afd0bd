// Options of a run split across MPI ranks (`mpirun -np N llama3 generate ...`), and the launch
// detection. The pipeline itself is the library's (llama3/distributed.hpp); without an MPI build
// these options are refused with a clear message.
#pragma once

#include <string>
#include <vector>

#include "command_line.hpp"
#include "common_options.hpp"

namespace llama3::cli {

struct PipelineCommandOptions {
  std::vector<double> split;       // --split: layers or shares per rank
  double timeout_seconds = 300.0;  // --mpi-timeout
  int micro_batch = 0;             // --micro-batch

  void declare(CLI::App& app);
  // Whether this process runs as one rank of an MPI launch, in a build that has the pipeline.
  // Throws UsageError when the pipeline options are given without one.
  bool active() const;
};

// Whether this llama3 was built with the MPI pipeline (-DLLAMA3_MPI=ON).
bool built_with_mpi();

}  // namespace llama3::cli
