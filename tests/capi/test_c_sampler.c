/* The sampler's candidates through the C ABI: what a draw could return, with probabilities that
 * match the softmax of the survivors, the capacity rules, and a draw that stays among them. No
 * model: the logits are written by hand.
 *
 *   test_c_sampler */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "c_test_expect.h"
#include "llama3.h"

static int close_to(float got, double want) {
  return fabs((double)got - want) < 1e-5;
}

static llama3_sampler* make_sampler(float temperature, int32_t top_k, float top_p) {
  llama3_sampler_params params;
  llama3_sampler* sampler = NULL;
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_params_init(&params));
  params.temperature = temperature;
  params.top_k = top_k;
  params.top_p = top_p;
  params.seed = 7;
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_create(&params, &sampler));
  return sampler;
}

int main(void) {
  const float logits[5] = {0.5f, 2.0f, 1.0f, -1.0f, 1.0f};
  llama3_token_probability candidates[8];
  llama3_sampler* greedy = make_sampler(0.0f, 0, 1.0f);
  llama3_sampler* top3 = make_sampler(1.0f, 3, 1.0f);
  size_t n = 0, total = 0;
  llama3_token drawn = -1;
  double z;
  int i;

  /* Greedy: the argmax, with probability 1. */
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_candidates(greedy, logits, 5, candidates, 8, &n, &total));
  EXPECT(n == 1 && total == 1);
  EXPECT(candidates[0].token == 1 && close_to(candidates[0].probability, 1.0));

  /* Top-3 at temperature 1: tokens 1, 2, 4 (the tie between 2 and 4 goes to the lower id), with
   * the softmax over those three. */
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_candidates(top3, logits, 5, candidates, 8, &n, &total));
  z = exp(2.0) + 2 * exp(1.0);
  EXPECT(n == 3 && total == 3);
  EXPECT(candidates[0].token == 1 && close_to(candidates[0].probability, exp(2.0) / z));
  EXPECT(candidates[1].token == 2 && close_to(candidates[1].probability, exp(1.0) / z));
  EXPECT(candidates[2].token == 4 && close_to(candidates[2].probability, exp(1.0) / z));

  /* A smaller capacity gets the most likely ones and the total; capacity 0 only counts. */
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_candidates(top3, logits, 5, candidates, 1, &n, &total));
  EXPECT(n == 1 && total == 3 && candidates[0].token == 1);
  EXPECT_STATUS(LLAMA3_OK, llama3_sampler_candidates(top3, logits, 5, NULL, 0, &n, NULL));
  EXPECT(n == 0);

  /* Asking advances nothing: draws stay among the candidates. */
  for (i = 0; i < 20; ++i) {
    EXPECT_STATUS(LLAMA3_OK, llama3_sampler_sample(top3, logits, 5, &drawn));
    EXPECT(drawn == 1 || drawn == 2 || drawn == 4);
  }

  /* Bad inputs name the function. */
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_sampler_candidates(NULL, logits, 5, candidates, 8, &n, NULL));
  EXPECT(strstr(llama3_last_error_message(), "(in llama3_sampler_candidates)") != NULL);
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_sampler_candidates(top3, logits, 5, NULL, 4, &n, NULL));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_sampler_candidates(top3, logits, 0, candidates, 8, &n, NULL));
  EXPECT_STATUS(LLAMA3_ERR_INVALID_ARGUMENT,
                llama3_sampler_candidates(top3, logits, 5, candidates, 8, NULL, NULL));

  llama3_sampler_free(greedy);
  llama3_sampler_free(top3);
  if (failures) {
    fprintf(stderr, "%d failures\n", failures);
    return 1;
  }
  printf("all C ABI sampler-candidate checks passed\n");
  return 0;
}
