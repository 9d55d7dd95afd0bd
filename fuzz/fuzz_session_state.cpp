// Session::load_state on arbitrary bytes, against the stories260K model. Saved state comes from
// disk, so it is untrusted input: a mutated state must be refused with a clear error, and a state
// that is accepted must leave a session that can keep decoding. The state ends with a 64-bit FNV-1a
// checksum of the bytes before it, which almost every mutation breaks; so each input is also tried
// with that checksum recomputed, to reach the checks behind it.
#include <cstring>
#include <vector>

#include "fuzz_support.hpp"
#include "llama3/model.hpp"
#include "llama3/session.hpp"

namespace {
const llama3::Model& stories_model() {
  static const llama3::Model model =
      llama3::Model::load(llama3::fuzz::data_file("stories260K.gguf"));
  return model;
}

std::uint64_t fnv1a(const std::uint8_t* data, std::size_t n) {
  std::uint64_t hash = 0xcbf29ce484222325ull;
  for (std::size_t i = 0; i < n; ++i) {
    hash ^= data[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}

void try_load(llama3::Session& session, std::span<const std::byte> state) {
  session.reset();
  llama3::fuzz::reject_only_with_clear_errors([&] {
    session.load_state(state);
    llama3::fuzz::require(session.n_past() <= 64, "a loaded state fits the context window");
    if (session.n_past() < 64) {
      const std::vector<llama3::TokenId> next{1};
      (void)session.decode(next);
    }
  });
}
}  // namespace

// Loads the shared data before the first input, so its time is not charged to that input (libFuzzer
// would report it as a slow unit).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)stories_model();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace llama3;
  static Session session(stories_model(), SessionOptions{.n_ctx = 64, .n_threads = 1});
  try_load(session, std::span(reinterpret_cast<const std::byte*>(data), size));
  if (size >= sizeof(std::uint64_t)) {
    std::vector<std::uint8_t> fixed(data, data + size);
    const std::size_t body = size - sizeof(std::uint64_t);
    const std::uint64_t checksum = fnv1a(fixed.data(), body);
    std::memcpy(fixed.data() + body, &checksum, sizeof checksum);
    try_load(session, std::as_bytes(std::span(fixed)));
  }
  return 0;
}
