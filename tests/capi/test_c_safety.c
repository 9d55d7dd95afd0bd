/* The safety layer through the C ABI: the code scanner (built-in and caller rules, plain code and
 * Markdown, clear errors) and the Llama Guard runner (version rules, the JSON verdict, bad turns).
 *
 *   test_c_safety TINY_LLAMA31.gguf   (exits 77 when the file is missing)
 * (A random-weight model: its Guard verdicts are whatever the weights say, so the test checks the
 * verdict's shape and the runner's rules, not a classification.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "c_test_expect.h"
#include "llama3.h"

static void test_code_scanner(void) {
  llama3_code_scanner* scanner = NULL;
  llama3_code_scanner* custom = NULL;
  char json[4096];
  size_t length = 0, needed = 0;
  const char* c_code = "int main() {\n  char b[8];\n  strcpy(b, s);\n}\n";
  const char* markdown = "Here:\n```python\nimport hashlib\nhashlib.md5(data)\n```\n";
  const char* rules =
      "{\"format\": \"llama3-code-rules\", \"version\": 1, \"rules\": [{\"id\": \"any.todo\", "
      "\"languages\": [\"any\"], \"regex\": \"TODO\", \"severity\": \"advice\", "
      "\"cwe_id\": \"CWE-546\", \"description\": \"a note\"}]}";

  EXPECT_STATUS(LLAMA3_OK, llama3_code_scanner_create(NULL, &scanner));
  EXPECT_STATUS(LLAMA3_OK, llama3_code_scan(scanner, c_code, strlen(c_code), "c", 0, json,
                                            sizeof(json), &length));
  EXPECT(strstr(json, "\"rule_id\":\"c.strcpy\"") != NULL);
  EXPECT(strstr(json, "\"line\":3") != NULL);
  EXPECT(strncmp(json, "{\"treatment\":", 13) == 0);
  EXPECT(length == strlen(json));
  /* The buffer protocol: too small says how much, and a buffer of that size (+ NUL) works. */
  EXPECT_STATUS(LLAMA3_ERR_BUFFER_TOO_SMALL,
                llama3_code_scan(scanner, c_code, strlen(c_code), "c", 0, json, 8, &needed));
  EXPECT(needed == length);
  /* Markdown: each fenced block with its fence's language. */
  EXPECT_STATUS(LLAMA3_OK, llama3_code_scan(scanner, markdown, strlen(markdown), NULL, 1, json,
                                            sizeof(json), &length));
  EXPECT(strstr(json, "md5") != NULL);
  /* Clean code has no findings. */
  EXPECT_STATUS(LLAMA3_OK,
                llama3_code_scan(scanner, "x = 1\n", 6, "python", 0, json, sizeof(json), &length));
  EXPECT(strstr(json, "\"findings\":[]") != NULL);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_code_scan(scanner, c_code, strlen(c_code), "cobol-74", 0, json, sizeof(json),
                                 &length));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_code_scan(NULL, c_code, 3, "c", 0, json, sizeof(json), &length));
  llama3_code_scanner_free(scanner);

  EXPECT_STATUS(LLAMA3_ERR_BAD_FORMAT, llama3_code_scanner_create("{\"rules\": 3}", &custom));
  EXPECT(custom == NULL);
  if (llama3_code_scanner_create(rules, &custom) == LLAMA3_OK) {
    /* (Comments are never matched, so the marker sits in code.) */
    EXPECT_STATUS(LLAMA3_OK,
                  llama3_code_scan(custom, "x = TODO;\n", 10, "", 0, json, sizeof(json), &length));
    EXPECT(strstr(json, "any.todo") != NULL);
    llama3_code_scanner_free(custom);
  } else {
    fprintf(stderr, "caller rules refused: %s\n", llama3_last_error_message());
    ++failures;
  }
  llama3_code_scanner_free(NULL);
}

static void test_guard(const char* model_path) {
  llama3_model* model = NULL;
  llama3_guard* guard = NULL;
  llama3_guard_params params;
  llama3_chat_message turns[2];
  char json[2048];
  size_t length = 0;

  EXPECT_STATUS(LLAMA3_OK, llama3_model_load(model_path, NULL, &model));
  /* The test model's name names no Llama Guard version: AUTO cannot tell. */
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_guard_create(model, NULL, &guard));
  EXPECT(strstr(llama3_last_error_message(), "llama3_guard_create") != NULL);
  EXPECT_STATUS(LLAMA3_OK, llama3_guard_params_init(&params));
  EXPECT(params.version == LLAMA3_GUARD_AUTO && params.threshold == 0.5f);
  params.version = 7;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_guard_create(model, &params, &guard));
  params.version = LLAMA3_GUARD_3;
  params.threshold = 1.5f;
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT, llama3_guard_create(model, &params, &guard));
  params.threshold = 0.5f;
  params.max_new_tokens = 4;
  params.n_threads = 1;
  EXPECT_STATUS(LLAMA3_OK, llama3_guard_create(model, &params, &guard));
  llama3_model_free(model); /* the guard keeps the weights alive */
  if (guard == NULL) return;

  turns[0].role = "user";
  turns[0].content = "How do I bake bread?";
  turns[1].role = "assistant";
  turns[1].content = "Mix flour, water and yeast.";
  EXPECT_STATUS(LLAMA3_OK, llama3_guard_classify(guard, turns, 1, json, sizeof(json), &length));
  EXPECT(strncmp(json, "{\"verdict\":\"", 12) == 0);
  EXPECT(strstr(json, "\"unsafe_probability\":") != NULL);
  EXPECT(strstr(json, "\"raw\":") != NULL);
  EXPECT_STATUS(LLAMA3_OK, llama3_guard_classify(guard, turns, 2, json, sizeof(json), &length));
  EXPECT(strncmp(json, "{\"verdict\":\"", 12) == 0);
  turns[1].role = "robot";
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_guard_classify(guard, turns, 2, json, sizeof(json), &length));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_guard_classify(guard, turns, 0, json, sizeof(json), &length));
  llama3_guard_free(guard);
  llama3_guard_free(NULL);
}

int main(int argc, char** argv) {
  FILE* file;
  if (argc < 2) {
    fprintf(stderr, "usage: %s TINY_LLAMA31.gguf\n", argv[0]);
    return 2;
  }
  file = fopen(argv[1], "rb");
  if (file == NULL) {
    fprintf(stderr, "skipped: missing %s\n", argv[1]);
    return 77;
  }
  fclose(file);
  test_code_scanner();
  test_guard(argv[1]);
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("all C ABI safety checks passed\n");
  return 0;
}
