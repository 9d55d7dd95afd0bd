// Progress of long work (loading, converting, quantizing) on stderr: a bar redrawn in place on a
// terminal, a few plain lines otherwise, so a log file gets "quantize: 40% ..." lines rather than
// hundreds of carriage-return frames.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace llama3::cli {

enum class ProgressStyle {
  kAuto,   // a bar when stderr is a terminal, lines otherwise
  kBar,    // "\rconvert [#####     ] 12/147 blk.3.ffn_up.weight"
  kLines,  // one line each time another tenth is done
  kNone,
};

class ProgressReport {
 public:
  // `label` starts every line ("convert", "loading").
  ProgressReport(std::string label, ProgressStyle style);

  // `done` of `total` steps are complete; `item` names the step (a tensor), may be empty.
  void update(std::size_t done, std::size_t total, std::string_view item = {});
  // Ends the bar's line when the work stopped before `total`.
  void finish();

 private:
  std::string label_;
  ProgressStyle style_;
  int last_tenth_ = -1;  // kLines: the last tenth a line was printed for
  bool line_open_ = false;
};

}  // namespace llama3::cli
