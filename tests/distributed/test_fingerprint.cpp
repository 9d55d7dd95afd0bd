// The ranks' agreement check (src/distributed/fingerprint): what differs is named, rank by rank.
#include <catch2/catch.hpp>

#include <vector>

#include "distributed/fingerprint.hpp"
#include "llama3/model.hpp"
#include "model/model_impl.hpp"
#include "support/test_data.hpp"

using namespace llama3;
using distributed::describe_disagreement;
using distributed::Fingerprint;

TEST_CASE("ranks that agree pass, the first difference is named", "[distributed]") {
  const Fingerprint same{1, 11, 22, 33, 44};
  CHECK(describe_disagreement(std::vector<Fingerprint>{same, same, same}).empty());

  Fingerprint tokenizer = same;
  tokenizer.tokenizer = 99;
  const auto text = describe_disagreement(std::vector<Fingerprint>{same, same, tokenizer});
  CHECK(text.find("rank 2") != std::string::npos);
  CHECK(text.find("tokenizer") != std::string::npos);

  Fingerprint tensors = same;
  tensors.tensors = 5;
  CHECK(describe_disagreement(std::vector<Fingerprint>{same, tensors}).find("quantization") !=
        std::string::npos);
  Fingerprint options = same;
  options.options = 5;
  CHECK(describe_disagreement(std::vector<Fingerprint>{same, options}).find("--split") !=
        std::string::npos);
  Fingerprint config = same;
  config.config = 5;
  CHECK(describe_disagreement(std::vector<Fingerprint>{same, config}).find("configuration") !=
        std::string::npos);
  CHECK(describe_disagreement(std::vector<Fingerprint>{same, distributed::failed_fingerprint()})
            .find("rank 1 could not load") != std::string::npos);
}

TEST_CASE("a model's fingerprint follows its options and tensors, not its layer share",
          "[distributed][data]") {
  const auto path = testing::require_data_file("stories260K.gguf");
  const Model whole = Model::load(path);
  const Model head = detail::load_model_layers(path, {}, [](const ModelConfig&) {
    return detail::LayerRange{0, 1};
  });
  distributed::PipelineOptions options;
  const Fingerprint a = distributed::fingerprint(detail::ModelAccess::impl(whole), options, 2);
  const Fingerprint b = distributed::fingerprint(detail::ModelAccess::impl(head), options, 2);
  CHECK(a.config == b.config);
  CHECK(a.tokenizer == b.tokenizer);
  CHECK(a.tensors == b.tensors);
  CHECK(a.options == b.options);
  options.session.n_ctx = 128;
  CHECK(distributed::fingerprint(detail::ModelAccess::impl(whole), options, 2).options !=
        a.options);
  CHECK(distributed::fingerprint(detail::ModelAccess::impl(whole), {}, 3).options != a.options);
}
