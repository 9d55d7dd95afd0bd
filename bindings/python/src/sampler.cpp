// llama3.Sampler: the seeded sampling chain.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>

#include <map>
#include <random>
#include <sstream>

#include "bindings.hpp"
#include "llama3/error.hpp"

namespace llama3::python {

void register_sampler(py::module_& m) {
  const SamplerParams defaults;
  py::class_<Sampler>(m, "Sampler", R"doc(
Picks the next token: logit bias -> penalties -> top-k -> top-p -> min-p -> temperature -> a seeded
draw (greedy when temperature <= 0). The same seed gives the same tokens on every platform. Not
safe to use from two threads at once.

Arguments (keyword-only):
  temperature: 0.6 by default (Meta's recommendation); <= 0 is greedy.
  top_p: 0.9; 1 is off.   top_k: 0 (off).   min_p: 0 (off).
  repeat_penalty: 1 (off).  frequency_penalty, presence_penalty: 0.  penalty_last_n: 64.
  logit_bias: {token_id: bias}; -inf bans a token.
  seed: the generator's seed (an int >= 0); None draws a random one (see the seed property).
  grammar: a llama3.Grammar; every sampled token keeps the output valid under it (accept() then
    raises InvalidArgumentError for a token it forbids).

Example:
  >>> sampler = llama3.Sampler(temperature=0.8, seed=42)
)doc")
      .def(py::init([](float temperature, float top_p, int top_k, float min_p, float repeat_penalty,
                       float frequency_penalty, float presence_penalty, int penalty_last_n,
                       const std::map<TokenId, float>& logit_bias,
                       std::optional<std::uint64_t> seed, std::optional<Grammar> grammar) {
             SamplerParams params;
             params.temperature = temperature;
             params.top_p = top_p;
             params.top_k = top_k;
             params.min_p = min_p;
             params.repeat_penalty = repeat_penalty;
             params.frequency_penalty = frequency_penalty;
             params.presence_penalty = presence_penalty;
             params.penalty_last_n = penalty_last_n;
             for (const auto& [token, bias] : logit_bias)
               params.logit_bias.push_back({token, bias});
             params.grammar = std::move(grammar);
             if (seed) {
               params.seed = *seed;
             } else {
               // A fresh seed per sampler, for varied output (the seed property tells which).
               std::random_device device;
               params.seed = (std::uint64_t{device()} << 32) ^ device();
             }
             return Sampler(std::move(params));
           }),
           py::kw_only(), py::arg("temperature") = defaults.temperature,
           py::arg("top_p") = defaults.top_p, py::arg("top_k") = defaults.top_k,
           py::arg("min_p") = defaults.min_p, py::arg("repeat_penalty") = defaults.repeat_penalty,
           py::arg("frequency_penalty") = defaults.frequency_penalty,
           py::arg("presence_penalty") = defaults.presence_penalty,
           py::arg("penalty_last_n") = defaults.penalty_last_n,
           py::arg("logit_bias") = std::map<TokenId, float>{},
           py::arg("seed") = py::int_(defaults.seed), py::arg("grammar") = py::none())
      .def(
          "sample",
          [](Sampler& self, py::array_t<float, py::array::c_style | py::array::forcecast> logits) {
            if (logits.ndim() != 1) throw Error(ErrorCode::kInvalidArgument, "logits must be 1-D");
            std::span<const float> row(logits.data(), static_cast<std::size_t>(logits.size()));
            return self.sample(row);
          },
          py::arg("logits"), "Picks a token from one row of logits; does not record it (accept()).")
      .def(
          "candidates",
          [](Sampler& self, py::array_t<float, py::array::c_style | py::array::forcecast> logits) {
            if (logits.ndim() != 1) throw Error(ErrorCode::kInvalidArgument, "logits must be 1-D");
            std::span<const float> row(logits.data(), static_cast<std::size_t>(logits.size()));
            py::list out;
            for (const TokenProbability& candidate : self.candidates(row)) {
              out.append(py::make_tuple(candidate.id, candidate.probability));
            }
            return out;
          },
          py::arg("logits"), R"doc(
The tokens a draw from `logits` could return at this position (what survives bias, penalties, the
grammar, top-k, top-p and min-p), as (token, probability) pairs, most likely first (ties: lowest
id), with the final probabilities (after temperature; they sum to 1). Greedy gives the argmax with
probability 1. Advances no random state and records nothing.

Example:
  >>> sampler.candidates(session.logits)[:5]
)doc")
      .def("accept", &Sampler::accept, py::arg("token"),
           "Records an emitted (or prompt) token for the penalties.")
      .def("reset", &Sampler::reset, "Forgets the history and rewinds the generator to the seed.")
      .def_property_readonly("seed", [](const Sampler& self) { return self.params().seed; })
      .def_property_readonly("temperature",
                             [](const Sampler& self) { return self.params().temperature; })
      .def_property_readonly(
          "grammar", [](const Sampler& self) { return self.params().grammar; },
          "The llama3.Grammar it follows, or None.")
      .def("__repr__", [](const Sampler& self) {
        const auto& p = self.params();
        std::ostringstream text;
        text << "llama3.Sampler(temperature=" << p.temperature << ", top_p=" << p.top_p
             << ", top_k=" << p.top_k << ", min_p=" << p.min_p
             << ", repeat_penalty=" << p.repeat_penalty
             << ", frequency_penalty=" << p.frequency_penalty
             << ", presence_penalty=" << p.presence_penalty
             << ", penalty_last_n=" << p.penalty_last_n << ", seed=" << p.seed << ")";
        return text.str();
      });
}

}  // namespace llama3::python
