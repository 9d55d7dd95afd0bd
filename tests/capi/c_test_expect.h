/* The checks the C ABI tests share: EXPECT(cond) and EXPECT_STATUS(expected, call) report the
 * place and count a failure in `failures` (each test program has its own), and never stop the
 * program, so one run lists every misbehaviour. */
#ifndef LLAMA3_C_TEST_EXPECT_H
#define LLAMA3_C_TEST_EXPECT_H

#include <stdio.h>

#include "llama3.h"

static int failures = 0;

#define EXPECT_STATUS(expected, call)                                                         \
  do {                                                                                        \
    llama3_status got_ = (call);                                                              \
    if (got_ != (expected)) {                                                                 \
      fprintf(stderr, "%s:%d: %s returned %s, expected %s (%s)\n", __FILE__, __LINE__, #call, \
              llama3_status_name(got_), llama3_status_name(expected),                         \
              llama3_last_error_message());                                                   \
      ++failures;                                                                             \
    }                                                                                         \
  } while (0)

#define EXPECT(cond)                                                      \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                         \
    }                                                                     \
  } while (0)

#endif /* LLAMA3_C_TEST_EXPECT_H */
