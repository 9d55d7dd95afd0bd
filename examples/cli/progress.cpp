#include "progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace llama3::cli {

ProgressReport::ProgressReport(std::string label, ProgressStyle style)
    : label_(std::move(label)), style_(style) {
  if (style_ == ProgressStyle::kAuto) {
    style_ = ::isatty(2) != 0 ? ProgressStyle::kBar : ProgressStyle::kLines;
  }
}

void ProgressReport::update(std::size_t done, std::size_t total, std::string_view item) {
  if (style_ == ProgressStyle::kNone) return;
  const std::size_t percent = total ? done * 100 / total : 100;
  const int item_width = static_cast<int>(item.size());
  if (style_ == ProgressStyle::kBar) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(percent * kWidth / 100);
    std::fprintf(stderr, "\r%s [%.*s%*s] %3zu%% %zu/%zu %-40.*s", label_.c_str(), filled,
                 "##############################", kWidth - filled, "", percent, done, total,
                 item_width, item.data());
    line_open_ = done < total;
    if (!line_open_) std::fputc('\n', stderr);
    std::fflush(stderr);
    return;
  }
  const int tenth = static_cast<int>(percent / 10);
  if (tenth == last_tenth_ || (done == 0 && total > 0)) return;
  last_tenth_ = tenth;
  std::fprintf(stderr, "%s: %3zu%% (%zu/%zu)%s%.*s\n", label_.c_str(), percent, done, total,
               item.empty() ? "" : " ", item_width, item.data());
  std::fflush(stderr);
}

void ProgressReport::finish() {
  if (line_open_) std::fputc('\n', stderr);
  line_open_ = false;
}

}  // namespace llama3::cli
