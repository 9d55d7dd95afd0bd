#include "pipeline_options.hpp"

#include <cstdio>
#include <cstdlib>

#include "commands.hpp"

namespace llama3::cli {

bool built_with_mpi() {
#if LLAMA3_HAS_MPI
  return true;
#else
  return false;
#endif
}

void PipelineCommandOptions::declare(CLI::App& app) {
  app.add_option("--split", split,
                 "under mpirun: layers per rank, as counts that add up to the model's layers "
                 "(10,6) or shares (0.6,0.4); default: even")
      ->delimiter(',')
      ->type_name("N,N,...");
  app.add_option("--mpi-timeout", timeout_seconds,
                 "under mpirun: seconds rank 0 waits for the other ranks before it ends the job "
                 "as dead or hung")
      ->check(number_in(0.001, 1e6))
      ->capture_default_str();
  app.add_option("--micro-batch", micro_batch,
                 "under mpirun: rows per message between ranks (prompt tokens, or an engine step's "
                 "rows with --parallel and serve; 0: automatic)")
      ->check(integer_in(0, 64));
}

bool PipelineCommandOptions::active() const {
#if LLAMA3_HAS_MPI
  const bool launched = distributed::launched_by_mpi();
#else
  const bool launched = false;
  if (std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMIX_RANK")) {
    throw UsageError(
        "this llama3 was built without MPI: under mpirun every rank would run the whole model "
        "on its own (rebuild with -DLLAMA3_MPI=ON and libopenmpi-dev)");
  }
#endif
  if (!launched && (!split.empty() || micro_batch != 0)) {
    throw UsageError(built_with_mpi() ? "--split and --micro-batch apply to a run under mpirun "
                                        "(mpirun -np N llama3 generate|serve ...)"
                                      : "--split and --micro-batch need a llama3 built with MPI "
                                        "(-DLLAMA3_MPI=ON, libopenmpi-dev) and run under mpirun");
  }
  return launched;
}

#if LLAMA3_HAS_MPI
std::unique_ptr<distributed::Pipeline> join_pipeline(distributed::MpiEnvironment& mpi,
                                                     const std::string& model_path,
                                                     distributed::PipelineOptions options,
                                                     const PipelineCommandOptions& command_options,
                                                     const char* command, int& exit_code) {
  options.split = command_options.split;
  options.timeout_seconds = command_options.timeout_seconds;
  options.micro_batch = command_options.micro_batch;
  const int rank = mpi.rank();
  std::unique_ptr<distributed::Pipeline> pipeline;
  try {
    pipeline = std::make_unique<distributed::Pipeline>(model_path, mpi.world(), options);
  } catch (const std::exception& failure) {
    // Every rank fails together and rank 0 prints what failed where; the others wait for that.
    if (rank == 0) print_error(command, failure);
    mpi.barrier();
    exit_code = 1;
    return nullptr;
  }
  exit_code = 0;
  if (rank == 0) return pipeline;
  try {
    pipeline->serve();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "llama3 %s (rank %d): error: %s\n", command, rank, error.what());
    distributed::MpiEnvironment::abort(1);
  }
  return nullptr;
}
#endif

}  // namespace llama3::cli
