// Options of a run split across MPI ranks (`mpirun -np N llama3 generate ...`), and the launch
// detection. The pipeline itself is the library's (llama3/distributed.hpp); without an MPI build
// these options are refused with a clear message.
#pragma once

#include <memory>
#include <string>
#include <vector>

#if LLAMA3_HAS_MPI
#include "llama3/distributed.hpp"
#endif

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

#if LLAMA3_HAS_MPI
// Builds this rank's share of the pipeline (`options` plus the command's --split, --mpi-timeout
// and --micro-batch). Returns it on rank 0. Ranks other than 0 serve rank 0 until it ends the
// pipeline and then return nullptr, as every rank does when the pipeline cannot be built (rank 0
// prints why); exit_code says how the process should end.
std::unique_ptr<distributed::Pipeline> join_pipeline(distributed::MpiEnvironment& mpi,
                                                     const std::string& model_path,
                                                     distributed::PipelineOptions options,
                                                     const PipelineCommandOptions& command_options,
                                                     const char* command, int& exit_code);
#endif

}  // namespace llama3::cli
