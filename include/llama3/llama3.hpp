// The whole public C++ API of llama3: load a Model, open a Session, tokenize, sample, generate.
#pragma once

#include "llama3/chat.hpp"
#include "llama3/convert.hpp"
#include "llama3/engine.hpp"
#include "llama3/error.hpp"
#include "llama3/log.hpp"
#include "llama3/lora.hpp"
#include "llama3/model.hpp"
#include "llama3/perplexity.hpp"
#include "llama3/sampler.hpp"
#include "llama3/session.hpp"
#include "llama3/tokenizer.hpp"
#include "llama3/version.hpp"
