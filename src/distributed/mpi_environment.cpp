// MPI's life in a process, and whether an MPI launcher started it.
#include <mpi.h>

#include <cstdlib>

#include "llama3/distributed.hpp"
#include "llama3/error.hpp"

namespace llama3::distributed {

bool launched_by_mpi() {
  // Open MPI's mpirun, a PMIx launch (Open MPI 5, Slurm with PMIx), MPICH/PMI-1/2 launchers.
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(name)) return true;
  }
  return false;
}

MpiEnvironment::MpiEnvironment() {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (initialised) return;
  // One thread at a time calls MPI, not always the one that made the environment: a pipeline's
  // engine (Pipeline::make_engine) makes its calls on the engine's worker thread. The pipeline's
  // compute threads never do.
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
    throw Error(ErrorCode::kIo, "MPI_Init_thread failed");
  }
  finalize_ = true;
}

MpiEnvironment::~MpiEnvironment() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (finalize_ && !finalised) MPI_Finalize();
}

int MpiEnvironment::world() const {
  return static_cast<int>(MPI_Comm_c2f(MPI_COMM_WORLD));
}

int MpiEnvironment::rank() const {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int MpiEnvironment::size() const {
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

void MpiEnvironment::barrier() const {
  MPI_Barrier(MPI_COMM_WORLD);
}

void MpiEnvironment::abort(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::abort();  // MPI_Abort does not return; should it, still never go on
}

}  // namespace llama3::distributed
