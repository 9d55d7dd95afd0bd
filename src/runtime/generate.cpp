// Session::generate: the generation loop (runtime/generation_loop.hpp) over this session.
#include "runtime/generation_loop.hpp"

namespace llama3 {

GenerateResult Session::generate(std::span<const TokenId> prompt, Sampler& sampler,
                                 const GenerateOptions& options) {
  return runtime::run_generation(*this, prompt, sampler, options);
}

// The speculative loop (speculative.cpp) makes room the same way the plain loop does.
bool runtime::make_room(Session& session, const GenerateOptions& options) {
  return generation_detail::make_room(session, options);
}

}  // namespace llama3
