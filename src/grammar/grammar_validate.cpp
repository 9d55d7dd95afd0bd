// validate(): the checks that make every matcher walk terminate (see grammar_ir.hpp).
#include <string>
#include <vector>

#include "grammar/grammar_ir.hpp"
#include "llama3/error.hpp"

namespace llama3::grammar {
namespace {

[[noreturn]] void fail(const std::string& message) {
  throw Error(ErrorCode::kInvalidArgument, "grammar: " + message);
}

// Calls f(element index) for each element of the alternative starting at `start`.
template <typename F>
void for_each_element(const GrammarIr& g, std::uint32_t start, F&& f) {
  for (std::uint32_t i = start; g.elements[i].kind != ElementKind::kEnd; ++i) {
    if (!f(g.elements[i])) return;
  }
}

// Fixed point of "some alternative consists only of elements satisfying `holds`".
std::vector<bool> fixed_point(const GrammarIr& g, bool bytes_hold) {
  std::vector<bool> result(g.rules.size(), false);
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t r = 0; r < g.rules.size(); ++r) {
      if (result[r]) continue;
      for (std::uint32_t start : g.rules[r].alternatives) {
        bool all = true;
        for_each_element(g, start, [&](const Element& e) {
          all = e.kind == ElementKind::kRule ? static_cast<bool>(result[e.index]) : bytes_hold;
          return all;
        });
        if (all) {
          result[r] = true;
          changed = true;
          break;
        }
      }
    }
  }
  return result;
}

}  // namespace

void validate(const GrammarIr& g) {
  const std::vector<bool> productive = fixed_point(g, /*bytes_hold=*/true);
  for (std::size_t r = 0; r < g.rules.size(); ++r) {
    if (!productive[r]) {
      fail("rule '" + g.rules[r].name + "' can never finish (every alternative recurses forever)");
    }
  }
  const std::vector<bool> nullable = fixed_point(g, /*bytes_hold=*/false);

  // Rules each rule can reach before consuming a byte.
  std::vector<std::vector<std::uint32_t>> leading(g.rules.size());
  for (std::size_t r = 0; r < g.rules.size(); ++r) {
    for (std::uint32_t start : g.rules[r].alternatives) {
      for_each_element(g, start, [&](const Element& e) {
        if (e.kind != ElementKind::kRule) return false;
        leading[r].push_back(e.index);
        return static_cast<bool>(nullable[e.index]);
      });
    }
  }
  // Depth-first search for a cycle, iterative so a long chain of rules cannot overflow the stack.
  enum Mark : int { kNew, kOnPath, kDone };
  std::vector<int> mark(g.rules.size(), kNew);
  for (std::uint32_t start = 0; start < g.rules.size(); ++start) {
    if (mark[start] != kNew) continue;
    std::vector<std::pair<std::uint32_t, std::size_t>> path{{start, 0}};
    mark[start] = kOnPath;
    while (!path.empty()) {
      auto& [rule, next] = path.back();
      if (next == leading[rule].size()) {
        mark[rule] = kDone;
        path.pop_back();
        continue;
      }
      const std::uint32_t callee = leading[rule][next++];
      if (mark[callee] == kOnPath) {
        std::string cycle;
        bool in_cycle = false;
        for (const auto& [r, ignored] : path) {
          if (r == callee) in_cycle = true;
          if (in_cycle) cycle += g.rules[r].name + " -> ";
        }
        fail("left recursion (" + cycle + g.rules[callee].name +
             ") is not supported: rewrite it with repetition, e.g. list ::= item (\",\" item)*");
      }
      if (mark[callee] == kNew) {
        mark[callee] = kOnPath;
        path.emplace_back(callee, 0);
      }
    }
  }
}

}  // namespace llama3::grammar
