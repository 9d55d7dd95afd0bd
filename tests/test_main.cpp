// The Catch2 runner. Catch2 2.x exits with the number of failed assertions, and ctest reads exit
// code 77 as "skipped" (a test whose data file is missing calls std::exit(77) itself,
// support/test_data.hpp). So a run that failed, whatever its count, exits 1 here: exactly 77
// failures must never read as a skip.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
  const int failures = Catch::Session().run(argc, argv);
  return failures == 0 ? 0 : 1;
}
