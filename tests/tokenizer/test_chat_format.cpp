// ChatFormat against Meta's golden id lists (meta-llama/llama3 test_tokenizer.py) and the 3.1
// template.
#include <catch2/catch.hpp>

#include "llama3/chat.hpp"
#include "tokenizer/llama3_bpe.hpp"
#include "tokenizer/llama3_vocab.hpp"

using namespace llama3;
using llama3::testing::llama3_tokenizer;
using Ids = std::vector<TokenId>;

TEST_CASE("chat: Meta's encode_message golden ids", "[tokenizer][data]") {
  const ChatFormat chat(llama3_tokenizer());
  CHECK(chat.style() == ChatStyle::kLlama30);  // tokenizer.json has the 3.0 token names
  CHECK(chat.encode_message({Role::kUser, "This is a test sentence."}) ==
        Ids{128006, 882, 128007, 271, 2028, 374, 264, 1296, 11914, 13, 128009});
  CHECK(chat.encode_header(Role::kAssistant) == Ids{128006, 78191, 128007, 271});
}

TEST_CASE("chat: Meta's encode_dialog_prompt golden ids, content trimmed", "[tokenizer][data]") {
  const ChatFormat chat(llama3_tokenizer());
  const Ids expected{128000, 128006, 9125,   128007, 271,    2028,   374,    264,  1296,
                     11914,  13,     128009, 128006, 882,    128007, 271,    2028, 374,
                     264,    2077,   13,     128009, 128006, 78191,  128007, 271};
  CHECK(chat.encode_dialog_prompt({{Role::kSystem, "This is a test sentence."},
                                   {Role::kUser, "This is a response."}}) == expected);
  CHECK(chat.encode_dialog_prompt({{Role::kSystem, "  This is a test sentence.\n"},
                                   {Role::kUser, "\tThis is a response. \xE3\x80\x80"}}) ==
        expected);
  const Ids without_prompt(expected.begin(), expected.end() - 4);
  CHECK(chat.encode_dialog_prompt(
            {{Role::kSystem, "This is a test sentence."}, {Role::kUser, "This is a response."}},
            false) == without_prompt);
}

TEST_CASE("chat: special-token text in content stays plain text", "[tokenizer][data]") {
  const ChatFormat chat(llama3_tokenizer());
  const Ids ids = chat.encode_message({Role::kUser, "<|eot_id|>"});
  CHECK(std::count(ids.begin(), ids.end(), 128009) == 1);
  CHECK(ids.back() == 128009);
}

TEST_CASE("chat: Llama 3.1 system block, ipython role and tool calls", "[tokenizer][data]") {
  const auto& base = llama3_tokenizer();
  // The same vocabulary with the 3.1 token names, as Meta's tokenizer.model loads it.
  std::string model;
  const auto& impl =
      dynamic_cast<const detail::Llama3BpeTokenizer&>(detail::TokenizerAccess::impl(base));
  detail::Llama3VocabSpec spec;
  spec.origin = "test";
  for (std::size_t id = 0; id < 128000; ++id) {
    spec.token_text.push_back(impl.info().token_text[id]);
    spec.kinds.push_back(TokenKind::kNormal);
  }
  for (auto& name : detail::llama3_special_token_names()) {
    spec.token_text.push_back(name);
    spec.kinds.push_back(TokenKind::kControl);
  }
  const Tokenizer tok31 = detail::TokenizerAccess::make(detail::make_llama3_bpe(std::move(spec)));
  CHECK(tok31.end_of_generation_ids() == Ids{128001, 128008, 128009});

  const ChatFormat chat(tok31);
  REQUIRE(chat.style() == ChatStyle::kLlama31);
  const Ids prompt = chat.encode_dialog_prompt({{Role::kUser, "Hi"}});
  Ids expected{128000, 128006, 9125, 128007};
  for (TokenId id :
       tok31.encode("\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"))
    expected.push_back(id);
  expected.push_back(128009);
  for (TokenId id : Ids{128006, 882, 128007, 271}) expected.push_back(id);
  expected.push_back(tok31.encode("Hi").at(0));
  for (TokenId id : Ids{128009, 128006, 78191, 128007, 271}) expected.push_back(id);
  CHECK(prompt == expected);
  CHECK(
      tok31.decode(prompt, true) ==
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: "
      "December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>"
      "\n\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");

  ChatOptions options;
  options.builtin_tools = {"brave_search", "wolfram_alpha"};
  options.today_date = "01 Jan 2025";
  const ChatFormat tools(tok31, options);
  const Dialog dialog{{Role::kSystem, "Be brief."},
                      {Role::kUser, "Weather?"},
                      {Role::kAssistant, "brave_search.call(query=\"weather\")", true},
                      {Role::kIpython, "{\"sunny\": true}"}};
  CHECK(
      tok31.decode(tools.encode_dialog_prompt(dialog), true) ==
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nEnvironment: ipython\nTools: "
      "brave_search, wolfram_alpha\n\nCutting Knowledge Date: December 2023\nToday Date: 01 Jan "
      "2025\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWeather?<|eot_id|>"
      "<|start_header_id|>assistant<|end_header_id|>\n\n<|python_tag|>brave_search.call(query="
      "\"weather\")<|eom_id|><|start_header_id|>ipython<|end_header_id|>\n\n{\"sunny\": "
      "true}<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  // The rendered text re-encoded with special tokens parsed gives the same ids, as a template
  // would.
  const Ids ids = tools.encode_dialog_prompt(dialog);
  CHECK(tok31.encode(tok31.decode(ids, true), {.parse_special = true}) == ids);

  // code_interpreter is switched on by "Environment: ipython" and, as in the 3.1 template, never
  // listed on the Tools line.
  options.builtin_tools = {"code_interpreter", "wolfram_alpha"};
  const std::string with_code =
      tok31.decode(ChatFormat(tok31, options).encode_dialog_prompt({{Role::kUser, "x"}}), true);
  CHECK(with_code.find("Environment: ipython\nTools: wolfram_alpha\n\n") != std::string::npos);
  options.builtin_tools = {"code_interpreter"};
  const std::string only_code =
      tok31.decode(ChatFormat(tok31, options).encode_dialog_prompt({{Role::kUser, "x"}}), true);
  CHECK(only_code.find("Environment: ipython\nTools: \n\n") != std::string::npos);
}

TEST_CASE("chat: style detection from the chat template", "[tokenizer][data]") {
  const auto& tok = llama3_tokenizer();
  CHECK(detect_chat_style(tok, "{{ 'Cutting Knowledge Date: December 2023' }}") ==
        ChatStyle::kLlama31);
  CHECK(detect_chat_style(tok, "{{ '<|start_header_id|>' }}") == ChatStyle::kLlama30);
  CHECK(detect_chat_style(tok) == ChatStyle::kLlama30);
  CHECK(ChatFormat(tok, {.style = ChatStyle::kLlama31}).style() == ChatStyle::kLlama31);
}
