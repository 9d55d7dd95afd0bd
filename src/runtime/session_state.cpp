// Saving and restoring a session: a versioned, checksummed snapshot of the context.
//
// Layout (little-endian): "L3ST" | u32 version | u64 model fingerprint | u32 kv cache type |
// u32 n_layers | u32 kv_dim | u32 n_past | u32 n_vocab | u64 n_logits | f32 logits[n_logits] |
// (version 2 on) u32 n_ids (n_past, or 0 when the ids are unknown) | i32 ids[n_ids] |
// for each layer: key rows [n_past], value rows [n_past] (position-major rows of kv_dim) | u64
// FNV-1a checksum of all bytes before it.
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "io/output_file.hpp"
#include "llama3/error.hpp"
#include "runtime/session_impl.hpp"

namespace llama3 {
namespace detail {
namespace {

constexpr char kMagic[4] = {'L', '3', 'S', 'T'};
constexpr std::uint32_t kVersion = 2;
// Version 1 had no token ids; it still loads, with the context's ids unknown.
constexpr std::uint32_t kOldestVersion = 1;

std::uint64_t fnv1a(const std::byte* data, std::size_t n,
                    std::uint64_t hash = 0xcbf29ce484222325ull) {
  for (std::size_t i = 0; i < n; ++i) {
    hash ^= std::to_integer<std::uint64_t>(data[i]);
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// Identifies the model closely enough to refuse state from another one: its shape, its size in
// bytes, and the first bytes of its token embedding.
std::uint64_t model_fingerprint(const ModelImpl& model) {
  const auto& c = model.config();
  const std::int64_t fields[] = {
      c.n_vocab,    c.dim,      c.n_layers, c.n_heads,
      c.n_kv_heads, c.head_dim, c.ffn_dim,  static_cast<std::int64_t>(model.weight_bytes())};
  std::uint64_t hash = fnv1a(reinterpret_cast<const std::byte*>(fields), sizeof(fields));
  const auto& embedding = model.token_embedding();
  const std::size_t sample = std::min<std::size_t>(65536, embedding.row_bytes * embedding.rows);
  return fnv1a(static_cast<const std::byte*>(embedding.data), sample, hash);
}

class Writer {
 public:
  void bytes(const void* data, std::size_t n) {
    if (n == 0) return;
    const std::size_t at = out_.size();
    out_.resize(at + n);
    std::memcpy(out_.data() + at, data, n);
  }
  template <typename T>
  void value(T v) {
    bytes(&v, sizeof(v));
  }
  std::vector<std::byte> finish() {
    value(fnv1a(out_.data(), out_.size()));
    return std::move(out_);
  }

 private:
  std::vector<std::byte> out_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::byte> in) : in_(in) {}
  const std::byte* bytes(std::size_t n) {
    if (n > in_.size() - at_) throw Error(ErrorCode::kBadFormat, "session state: truncated");
    const std::byte* p = in_.data() + at_;
    at_ += n;
    return p;
  }
  template <typename T>
  T value() {
    T v;
    std::memcpy(&v, bytes(sizeof(T)), sizeof(T));
    return v;
  }
  std::size_t remaining() const { return in_.size() - at_; }

 private:
  std::span<const std::byte> in_;
  std::size_t at_ = 0;
};

void expect(bool ok, ErrorCode code, const std::string& message) {
  if (!ok) throw Error(code, "session state: " + message);
}

}  // namespace

std::vector<std::byte> SessionImpl::save_state() const {
  Writer out;
  out.bytes(kMagic, sizeof(kMagic));
  out.value(kVersion);
  out.value(model_fingerprint(detail::ModelAccess::impl(model_)));
  out.value(static_cast<std::uint32_t>(cache_.type()));
  out.value(static_cast<std::uint32_t>(cache_.n_layers()));
  out.value(static_cast<std::uint32_t>(cache_.kv_dim()));
  out.value(static_cast<std::uint32_t>(n_past_));
  out.value(static_cast<std::uint32_t>(model_.config().n_vocab));
  out.value(static_cast<std::uint64_t>(logits_.size()));
  out.bytes(logits_.data(), logits_.size() * sizeof(float));
  const auto ids = tokens();
  out.value(static_cast<std::uint32_t>(ids.size()));
  out.bytes(ids.data(), ids.size() * sizeof(TokenId));
  // Position-major rows whatever the cache's own layout, so saved states stay readable.
  std::vector<std::byte> row(cache_.row_bytes());
  for (int layer = 0; layer < cache_.n_layers(); ++layer) {
    for (int pos = 0; pos < n_past_; ++pos) {
      cache_.copy_key_row(layer, pos, row.data());
      out.bytes(row.data(), row.size());
    }
    for (int pos = 0; pos < n_past_; ++pos) {
      cache_.copy_value_row(layer, pos, row.data());
      out.bytes(row.data(), row.size());
    }
  }
  return out.finish();
}

void SessionImpl::load_state(std::span<const std::byte> state) {
  expect(state.size() >= sizeof(kMagic) + 8, ErrorCode::kBadFormat, "too short");
  const std::size_t body = state.size() - sizeof(std::uint64_t);
  std::uint64_t stored_checksum;
  std::memcpy(&stored_checksum, state.data() + body, sizeof(stored_checksum));
  expect(fnv1a(state.data(), body) == stored_checksum, ErrorCode::kBadFormat,
         "checksum mismatch (damaged or truncated)");

  Reader in(state.first(body));
  expect(std::memcmp(in.bytes(sizeof(kMagic)), kMagic, sizeof(kMagic)) == 0, ErrorCode::kBadFormat,
         "not a llama3 session state");
  const auto version = in.value<std::uint32_t>();
  expect(version >= kOldestVersion && version <= kVersion, ErrorCode::kBadFormat,
         "version " + std::to_string(version) + " is not supported (expected " +
             std::to_string(kOldestVersion) + " to " + std::to_string(kVersion) + ")");
  expect(in.value<std::uint64_t>() == model_fingerprint(detail::ModelAccess::impl(model_)),
         ErrorCode::kInvalidArgument, "saved from a different model");
  const auto saved_type = in.value<std::uint32_t>();
  if (saved_type != static_cast<std::uint32_t>(cache_.type())) {
    const std::string saved =
        saved_type <= static_cast<std::uint32_t>(KvCacheType::kBf16)
            ? runtime::kv_cache_type_name(static_cast<KvCacheType>(saved_type))
            : "unknown type " + std::to_string(saved_type);
    expect(false, ErrorCode::kInvalidArgument,
           "saved with a " + saved + " KV cache, but this session's cache is " +
               runtime::kv_cache_type_name(cache_.type()));
  }
  expect(in.value<std::uint32_t>() == static_cast<std::uint32_t>(cache_.n_layers()) &&
             in.value<std::uint32_t>() == static_cast<std::uint32_t>(cache_.kv_dim()),
         ErrorCode::kInvalidArgument, "KV cache shape differs");
  const auto n_past = in.value<std::uint32_t>();
  expect(n_past <= static_cast<std::uint32_t>(cache_.n_ctx()), ErrorCode::kInvalidArgument,
         "holds " + std::to_string(n_past) + " positions, more than this session's context of " +
             std::to_string(cache_.n_ctx()));
  const auto n_vocab = in.value<std::uint32_t>();
  expect(n_vocab == static_cast<std::uint32_t>(model_.config().n_vocab),
         ErrorCode::kInvalidArgument, "vocabulary size differs");
  const auto n_logits = in.value<std::uint64_t>();
  expect(n_logits % n_vocab == 0 && n_logits <= in.remaining() / sizeof(float),
         ErrorCode::kBadFormat, "bad logits count");
  const std::byte* logit_bytes = in.bytes(n_logits * sizeof(float));
  std::vector<TokenId> ids;
  if (version >= 2) {
    const auto n_ids = in.value<std::uint32_t>();
    expect(n_ids == 0 || n_ids == n_past, ErrorCode::kBadFormat,
           "records " + std::to_string(n_ids) + " token ids for " + std::to_string(n_past) +
               " positions");
    expect(n_ids <= in.remaining() / sizeof(TokenId), ErrorCode::kBadFormat, "truncated ids");
    const std::byte* id_bytes = in.bytes(n_ids * sizeof(TokenId));
    ids.resize(n_ids);
    // (A state with no ids leaves ids.data() null, which memcpy may not be given even for 0 bytes.)
    if (n_ids > 0) std::memcpy(ids.data(), id_bytes, n_ids * sizeof(TokenId));
    for (TokenId id : ids) {
      expect(id >= 0 && static_cast<std::uint32_t>(id) < n_vocab, ErrorCode::kBadFormat,
             "token id " + std::to_string(id) + " is outside the vocabulary");
    }
  }
  const std::size_t kv_bytes =
      static_cast<std::size_t>(cache_.n_layers()) * 2 * n_past * cache_.row_bytes();
  expect(in.remaining() == kv_bytes, ErrorCode::kBadFormat, "size does not match its header");

  // Everything is checked: now change the session.
  std::vector<float> logits;
  logits.reserve(n_logits);
  for (std::uint64_t i = 0; i < n_logits; ++i) {
    float value;
    std::memcpy(&value, logit_bytes + i * sizeof(float), sizeof(float));
    logits.push_back(value);
  }
  for (int layer = 0; layer < cache_.n_layers(); ++layer) {
    for (std::uint32_t pos = 0; pos < n_past; ++pos) {
      cache_.set_key_row(layer, static_cast<int>(pos), in.bytes(cache_.row_bytes()));
    }
    for (std::uint32_t pos = 0; pos < n_past; ++pos) {
      cache_.set_value_row(layer, static_cast<int>(pos), in.bytes(cache_.row_bytes()));
    }
  }
  logits_ = std::move(logits);
  n_past_ = static_cast<int>(n_past);
  tokens_known_ = ids.size() == n_past;
  tokens_ = tokens_known_ ? std::move(ids) : std::vector<TokenId>{};
}

}  // namespace detail

std::vector<std::byte> Session::save_state() const {
  return impl_->save_state();
}
void Session::load_state(std::span<const std::byte> state) {
  impl_->load_state(state);
}

void Session::save_state_file(const std::filesystem::path& path) const {
  const auto state = save_state();
  io::OutputFile out(path);
  out.write(state);
  out.commit();
}

void Session::load_state_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIo, "cannot read session state " + path.string());
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  load_state(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
}

}  // namespace llama3
