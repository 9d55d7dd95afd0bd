#include "io/pickle_reader.hpp"

#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "llama3/error.hpp"

namespace llama3::io {
namespace {

// Limits no real state dict comes near; each bounds the work or memory one forged number asks for.
constexpr std::uint64_t kMaxMemoIndex = std::uint64_t{1} << 20;
constexpr std::size_t kMaxMarkDepth = 32;
constexpr std::uint32_t kMaxNesting = 64;
constexpr std::size_t kMaxDims = 8;
constexpr std::size_t kMaxKeyLength = 64;

enum class Global : std::uint8_t {
  kRebuildTensorV2,
  kRebuildParameter,
  kOrderedDict,
  kStorageType
};

struct StorageTypeName {
  std::string_view name;
  TorchDtype dtype;
};
constexpr std::array<StorageTypeName, 10> kStorageTypes = {{
    {"FloatStorage", TorchDtype::kF32},
    {"HalfStorage", TorchDtype::kF16},
    {"BFloat16Storage", TorchDtype::kBF16},
    {"DoubleStorage", TorchDtype::kF64},
    {"LongStorage", TorchDtype::kI64},
    {"IntStorage", TorchDtype::kI32},
    {"ShortStorage", TorchDtype::kI16},
    {"CharStorage", TorchDtype::kI8},
    {"ByteStorage", TorchDtype::kU8},
    {"BoolStorage", TorchDtype::kBool},
}};

// Names of the pickle opcodes (CPython Lib/pickletools.py), for messages about refused ones.
std::string opcode_name(std::uint8_t op) {
  static const std::unordered_map<std::uint8_t, const char*> kNames = {
      {'(', "MARK"},          {'.', "STOP"},
      {'0', "POP"},           {'1', "POP_MARK"},
      {'2', "DUP"},           {'F', "FLOAT"},
      {'I', "INT"},           {'J', "BININT"},
      {'K', "BININT1"},       {'L', "LONG"},
      {'M', "BININT2"},       {'N', "NONE"},
      {'P', "PERSID"},        {'Q', "BINPERSID"},
      {'R', "REDUCE"},        {'S', "STRING"},
      {'T', "BINSTRING"},     {'U', "SHORT_BINSTRING"},
      {'V', "UNICODE"},       {'X', "BINUNICODE"},
      {'a', "APPEND"},        {'b', "BUILD"},
      {'c', "GLOBAL"},        {'d', "DICT"},
      {'}', "EMPTY_DICT"},    {'e', "APPENDS"},
      {'g', "GET"},           {'h', "BINGET"},
      {'i', "INST"},          {'j', "LONG_BINGET"},
      {'l', "LIST"},          {']', "EMPTY_LIST"},
      {'o', "OBJ"},           {'p', "PUT"},
      {'q', "BINPUT"},        {'r', "LONG_BINPUT"},
      {'s', "SETITEM"},       {'t', "TUPLE"},
      {')', "EMPTY_TUPLE"},   {'u', "SETITEMS"},
      {'G', "BINFLOAT"},      {0x80, "PROTO"},
      {0x81, "NEWOBJ"},       {0x82, "EXT1"},
      {0x83, "EXT2"},         {0x84, "EXT4"},
      {0x85, "TUPLE1"},       {0x86, "TUPLE2"},
      {0x87, "TUPLE3"},       {0x88, "NEWTRUE"},
      {0x89, "NEWFALSE"},     {0x8a, "LONG1"},
      {0x8b, "LONG4"},        {0x8c, "SHORT_BINUNICODE"},
      {0x8d, "BINUNICODE8"},  {0x8e, "BINBYTES8"},
      {0x8f, "EMPTY_SET"},    {0x90, "ADDITEMS"},
      {0x91, "FROZENSET"},    {0x92, "NEWOBJ_EX"},
      {0x93, "STACK_GLOBAL"}, {0x94, "MEMOIZE"},
      {0x95, "FRAME"},        {0x96, "BYTEARRAY8"},
      {0x97, "NEXT_BUFFER"},  {0x98, "READONLY_BUFFER"},
      {'B', "BINBYTES"},      {'C', "SHORT_BINBYTES"},
  };
  char hex[8];
  std::snprintf(hex, sizeof hex, "0x%02x", op);
  const auto it = kNames.find(op);
  return it == kNames.end() ? std::string("unknown opcode ") + hex
                            : std::string(it->second) + " (" + hex + ")";
}

enum class Kind : std::uint8_t {
  kNone,
  kBool,
  kInt,
  kFloat,
  kString,
  kTuple,
  kList,
  kDict,
  kGlobal,
  kStorage,
  kTensor
};

std::string_view kind_name(Kind kind) {
  constexpr std::array<std::string_view, 11> kNames = {"None",   "bool",    "int",   "float",
                                                       "str",    "tuple",   "list",  "dict",
                                                       "global", "storage", "tensor"};
  return kNames[static_cast<std::size_t>(kind)];
}

using NodeId = std::uint32_t;

// Values live in one arena and refer to each other by index: the memo and containers share them
// as pickle's references do, and a cycle a hostile file builds cannot leak or loop (nothing walks
// values recursively).
struct Node {
  Kind kind = Kind::kNone;
  bool ordered = false;       // a dict made by collections.OrderedDict()
  std::uint32_t nesting = 0;  // 1 + the deepest child's
  std::int64_t integer = 0;   // int, bool; a storage's numel
  double real = 0;
  std::string text;           // str; a storage's key
  std::vector<NodeId> items;  // tuple, list; dict as key, value, key, value, ...
  Global global = Global::kOrderedDict;
  TorchDtype dtype = TorchDtype::kF32;  // a storage type or storage
  std::size_t tensor = 0;               // index into the tensors made so far
};

class Interpreter {
 public:
  Interpreter(std::span<const std::byte> bytes, const std::string& origin)
      : bytes_(bytes), origin_(origin) {}

  std::vector<PickledTensor> run();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::kBadFormat, origin_ + ": pickle: " + what);
  }
  std::span<const std::byte> take(std::uint64_t n) {
    if (n > bytes_.size() - at_) {
      fail("truncated: " + opcode_name(op_) + " at offset " + std::to_string(op_at_) + " needs " +
           std::to_string(n) + " more bytes");
    }
    const auto span = bytes_.subspan(at_, static_cast<std::size_t>(n));
    at_ += static_cast<std::size_t>(n);
    return span;
  }
  std::uint64_t unsigned_le(std::size_t width) {
    const auto span = take(width);
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < width; ++i)
      value |= std::to_integer<std::uint64_t>(span[i]) << (8 * i);
    return value;
  }
  std::string text(std::uint64_t n) {
    const auto span = take(n);
    return {reinterpret_cast<const char*>(span.data()), span.size()};
  }
  std::string line() {
    std::string result;
    while (true) {
      const char c = static_cast<char>(take(1)[0]);
      if (c == '\n') return result;
      if (result.size() > 256) fail(opcode_name(op_) + " name longer than 256 bytes");
      result += c;
    }
  }

  NodeId make(Node node) {
    for (NodeId child : node.items) node.nesting = std::max(node.nesting, nodes_[child].nesting);
    ++node.nesting;
    if (node.nesting > kMaxNesting) {
      fail(opcode_name(op_) + " at offset " + std::to_string(op_at_) +
           " nests values deeper than " + std::to_string(kMaxNesting));
    }
    nodes_.push_back(std::move(node));
    return static_cast<NodeId>(nodes_.size() - 1);
  }
  NodeId make_scalar(Kind kind, std::int64_t value) {
    Node node;
    node.kind = kind;
    node.integer = value;
    return make(std::move(node));
  }
  void push(NodeId id) { stack_.push_back(id); }
  NodeId pop() {
    if (stack_.size() <= (marks_.empty() ? 0 : marks_.back())) {
      fail(opcode_name(op_) + " at offset " + std::to_string(op_at_) + " on an empty stack");
    }
    const NodeId id = stack_.back();
    stack_.pop_back();
    return id;
  }
  NodeId top() {
    const NodeId id = pop();
    stack_.push_back(id);
    return id;
  }
  // The items since the last MARK, which is removed.
  std::vector<NodeId> pop_mark() {
    if (marks_.empty())
      fail(opcode_name(op_) + " at offset " + std::to_string(op_at_) + " without a MARK");
    const std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<NodeId> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }
  Node& node(NodeId id) { return nodes_[id]; }
  void expect(NodeId id, Kind kind, const std::string& what) {
    if (node(id).kind != kind) {
      fail(what + " must be a " + std::string(kind_name(kind)) + ", not a " +
           std::string(kind_name(node(id).kind)));
    }
  }
  void put(std::uint64_t index) {
    if (index >= kMaxMemoIndex) {
      fail(opcode_name(op_) + " at offset " + std::to_string(op_at_) + ": memo index " +
           std::to_string(index) + " exceeds " + std::to_string(kMaxMemoIndex));
    }
    memo_[static_cast<std::uint32_t>(index)] = top();
  }
  void get(std::uint64_t index) {
    const auto it = memo_.find(index);
    if (it == memo_.end()) {
      fail(opcode_name(op_) + " at offset " + std::to_string(op_at_) + " of memo slot " +
           std::to_string(index) + ", which was never set");
    }
    push(it->second);
  }
  void tuple(std::vector<NodeId> items) {
    Node node;
    node.kind = Kind::kTuple;
    node.items = std::move(items);
    push(make(std::move(node)));
  }
  void global(const std::string& module, const std::string& name);
  void add_items(NodeId container, const std::vector<NodeId>& items);
  void reduce();
  void persistent_id();
  std::uint64_t non_negative(NodeId id, const std::string& what) {
    expect(id, Kind::kInt, what);
    if (node(id).integer < 0)
      fail(what + " is negative (" + std::to_string(node(id).integer) + ")");
    return static_cast<std::uint64_t>(node(id).integer);
  }
  std::vector<std::uint64_t> int_tuple(NodeId id, const std::string& what) {
    expect(id, Kind::kTuple, what);
    if (node(id).items.size() > kMaxDims) {
      fail(what + " has " + std::to_string(node(id).items.size()) + " dims (at most " +
           std::to_string(kMaxDims) + ")");
    }
    std::vector<std::uint64_t> values;
    for (NodeId item : node(id).items) values.push_back(non_negative(item, what + " item"));
    return values;
  }

  std::span<const std::byte> bytes_;
  const std::string& origin_;
  std::size_t at_ = 0, op_at_ = 0;
  std::uint8_t op_ = 0;
  std::vector<Node> nodes_;
  std::vector<NodeId> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, NodeId> memo_;
  std::vector<PickledTensor> tensors_;
};

void Interpreter::global(const std::string& module, const std::string& name) {
  Node node;
  node.kind = Kind::kGlobal;
  if (module == "torch._utils" && name == "_rebuild_tensor_v2") {
    node.global = Global::kRebuildTensorV2;
  } else if (module == "torch._utils" && name == "_rebuild_parameter") {
    node.global = Global::kRebuildParameter;
  } else if (module == "collections" && name == "OrderedDict") {
    node.global = Global::kOrderedDict;
  } else {
    bool found = false;
    if (module == "torch") {
      for (const auto& type : kStorageTypes) {
        if (name == type.name) {
          node.global = Global::kStorageType;
          node.dtype = type.dtype;
          found = true;
        }
      }
    }
    if (!found) {
      fail(opcode_name(op_) + " at offset " + std::to_string(op_at_) + " names " + module + "." +
           name + ", which is not on the allow-list of a tensor state dict");
    }
  }
  push(make(std::move(node)));
}

void Interpreter::add_items(NodeId container, const std::vector<NodeId>& items) {
  Node& target = node(container);
  const bool is_dict = op_ == 's' || op_ == 'u';
  if (target.kind != (is_dict ? Kind::kDict : Kind::kList)) {
    fail(opcode_name(op_) + " at offset " + std::to_string(op_at_) + " on a " +
         std::string(kind_name(target.kind)));
  }
  if (is_dict && items.size() % 2 != 0) fail("SETITEMS with an odd number of items");
  std::uint32_t nesting = target.nesting;
  for (NodeId item : items) nesting = std::max(nesting, nodes_[item].nesting + 1);
  if (nesting > kMaxNesting) fail("values nest deeper than " + std::to_string(kMaxNesting));
  target.nesting = nesting;
  target.items.insert(target.items.end(), items.begin(), items.end());
}

void Interpreter::persistent_id() {
  const NodeId pid = pop();
  expect(pid, Kind::kTuple, "a persistent id");
  const auto items = node(pid).items;
  if (items.size() != 5) fail("a persistent id must be ('storage', type, key, location, numel)");
  expect(items[0], Kind::kString, "persistent id tag");
  if (node(items[0]).text != "storage")
    fail("persistent id tag '" + node(items[0]).text + "' is not 'storage'");
  if (node(items[1]).kind != Kind::kGlobal || node(items[1]).global != Global::kStorageType) {
    fail("a persistent id's storage type must be a torch.*Storage class");
  }
  expect(items[2], Kind::kString, "storage key");
  const std::string& key = node(items[2]).text;
  // The key becomes part of an archive path: only the names torch writes (decimal numbers).
  if (key.empty() || key.size() > kMaxKeyLength ||
      key.find_first_not_of("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_") !=
          std::string::npos) {
    fail("storage key '" + key.substr(0, kMaxKeyLength) + "' is not a plain name");
  }
  expect(items[3], Kind::kString, "storage location");
  Node storage;
  storage.kind = Kind::kStorage;
  storage.dtype = node(items[1]).dtype;
  storage.text = key;
  storage.integer = static_cast<std::int64_t>(non_negative(items[4], "storage numel"));
  push(make(std::move(storage)));
}

void Interpreter::reduce() {
  const NodeId args = pop();
  const NodeId callable = pop();
  if (node(callable).kind != Kind::kGlobal) {
    fail("REDUCE at offset " + std::to_string(op_at_) + " calls a " +
         std::string(kind_name(node(callable).kind)) + ", not an allowed global");
  }
  expect(args, Kind::kTuple, "REDUCE's arguments");
  const auto items = node(args).items;
  switch (node(callable).global) {
    case Global::kOrderedDict: {
      if (!items.empty()) fail("collections.OrderedDict called with arguments");
      Node dict;
      dict.kind = Kind::kDict;
      dict.ordered = true;
      push(make(std::move(dict)));
      return;
    }
    case Global::kRebuildParameter: {
      if (items.size() != 3) fail("torch._utils._rebuild_parameter takes 3 arguments");
      expect(items[0], Kind::kTensor, "_rebuild_parameter's data");
      push(items[0]);
      return;
    }
    case Global::kRebuildTensorV2: {
      if (items.size() != 6 && items.size() != 7) {
        fail("torch._utils._rebuild_tensor_v2 takes 6 or 7 arguments, not " +
             std::to_string(items.size()));
      }
      expect(items[0], Kind::kStorage, "_rebuild_tensor_v2's storage");
      PickledTensor tensor;
      tensor.dtype = node(items[0]).dtype;
      tensor.storage_key = node(items[0]).text;
      tensor.storage_numel = static_cast<std::uint64_t>(node(items[0]).integer);
      tensor.storage_offset = non_negative(items[1], "storage offset");
      tensor.shape = int_tuple(items[2], "tensor size");
      tensor.stride = int_tuple(items[3], "tensor stride");
      if (tensor.shape.size() != tensor.stride.size()) {
        fail("tensor size has " + std::to_string(tensor.shape.size()) + " dims but stride " +
             std::to_string(tensor.stride.size()));
      }
      expect(items[4], Kind::kBool, "requires_grad");
      expect(items[5], Kind::kDict, "backward_hooks");
      Node result;
      result.kind = Kind::kTensor;
      result.tensor = tensors_.size();
      tensors_.push_back(std::move(tensor));
      push(make(std::move(result)));
      return;
    }
    case Global::kStorageType:
      fail("REDUCE at offset " + std::to_string(op_at_) + " calls a storage type");
  }
}

std::vector<PickledTensor> Interpreter::run() {
  while (true) {
    op_at_ = at_;
    op_ = std::to_integer<std::uint8_t>(take(1)[0]);
    switch (op_) {
      case 0x80: {  // PROTO
        const auto version = unsigned_le(1);
        if (version < 2 || version > 5)
          fail("protocol " + std::to_string(version) + " (2 to 5 are read)");
        break;
      }
      case 0x95: {  // FRAME: a length prefix over the opcodes that follow; they are read as usual.
        const auto length = unsigned_le(8);
        if (length > bytes_.size() - at_)
          fail("FRAME of " + std::to_string(length) + " bytes runs past the end");
        break;
      }
      case '(':
        if (marks_.size() >= kMaxMarkDepth)
          fail("MARKs nested deeper than " + std::to_string(kMaxMarkDepth));
        marks_.push_back(stack_.size());
        break;
      case 'N':
        push(make_scalar(Kind::kNone, 0));
        break;
      case 0x88:
      case 0x89:
        push(make_scalar(Kind::kBool, op_ == 0x88));
        break;
      case 'K':
        push(make_scalar(Kind::kInt, static_cast<std::int64_t>(unsigned_le(1))));
        break;
      case 'M':
        push(make_scalar(Kind::kInt, static_cast<std::int64_t>(unsigned_le(2))));
        break;
      case 'J':
        push(make_scalar(Kind::kInt,
                         static_cast<std::int32_t>(static_cast<std::uint32_t>(unsigned_le(4)))));
        break;
      case 0x8a: {  // LONG1: little-endian two's complement of n bytes
        const auto n = unsigned_le(1);
        if (n > 8) fail("LONG1 of " + std::to_string(n) + " bytes does not fit 64 bits");
        std::uint64_t value = n ? unsigned_le(static_cast<std::size_t>(n)) : 0;
        if (n > 0 && n < 8 && (value >> (8 * n - 1)) & 1) value |= ~std::uint64_t{0} << (8 * n);
        push(make_scalar(Kind::kInt, static_cast<std::int64_t>(value)));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        const auto span = take(8);
        std::uint64_t bits = 0;
        for (std::size_t i = 0; i < 8; ++i)
          bits = (bits << 8) | std::to_integer<std::uint64_t>(span[i]);
        Node node;
        node.kind = Kind::kFloat;
        std::memcpy(&node.real, &bits, sizeof bits);
        push(make(std::move(node)));
        break;
      }
      case 'X':
      case 0x8c:
      case 'U':
      case 'T': {
        const auto length = unsigned_le(op_ == 'X' || op_ == 'T' ? 4 : 1);
        Node node;
        node.kind = Kind::kString;
        node.text = text(length);
        push(make(std::move(node)));
        break;
      }
      case '}':
      case ']':
      case ')': {
        Node node;
        node.kind = op_ == '}' ? Kind::kDict : op_ == ']' ? Kind::kList : Kind::kTuple;
        push(make(std::move(node)));
        break;
      }
      case 't':
        tuple(pop_mark());
        break;
      case 0x85:
      case 0x86:
      case 0x87: {
        std::vector<NodeId> items(static_cast<std::size_t>(op_ - 0x84));
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        tuple(std::move(items));
        break;
      }
      case 's':
      case 'a': {
        std::vector<NodeId> items(op_ == 's' ? 2 : 1);
        for (auto it = items.rbegin(); it != items.rend(); ++it) *it = pop();
        add_items(top(), items);
        break;
      }
      case 'u':
      case 'e': {
        const auto items = pop_mark();
        add_items(top(), items);
        break;
      }
      case 'q':
        put(unsigned_le(1));
        break;
      case 'r':
        put(unsigned_le(4));
        break;
      case 0x94:
        put(memo_.size());
        break;
      case 'h':
        get(unsigned_le(1));
        break;
      case 'j':
        get(unsigned_le(4));
        break;
      case 'c': {
        const std::string module = line();
        const std::string name = line();
        global(module, name);
        break;
      }
      case 0x93: {
        const NodeId name = pop();
        const NodeId module = pop();
        expect(module, Kind::kString, "STACK_GLOBAL's module");
        expect(name, Kind::kString, "STACK_GLOBAL's name");
        global(node(module).text, node(name).text);
        break;
      }
      case 'Q':
        persistent_id();
        break;
      case 'R':
        reduce();
        break;
      case 'b': {  // BUILD: an OrderedDict's attributes (a state dict's _metadata); ignored.
        const NodeId state = pop();
        const NodeId target = top();
        if (node(target).kind != Kind::kDict || !node(target).ordered) {
          fail("BUILD at offset " + std::to_string(op_at_) + " on a " +
               std::string(kind_name(node(target).kind)) +
               " (only an OrderedDict's state is read)");
        }
        if (node(state).kind != Kind::kDict && node(state).kind != Kind::kNone &&
            node(state).kind != Kind::kTuple) {
          fail("BUILD state must be a dict");
        }
        break;
      }
      case '.': {
        const NodeId result = pop();
        if (node(result).kind != Kind::kDict) {
          fail("the pickle holds a " + std::string(kind_name(node(result).kind)) +
               ", not a state dict");
        }
        std::vector<PickledTensor> tensors;
        std::unordered_set<std::string> names;
        const auto& items = node(result).items;
        for (std::size_t i = 0; i + 1 < items.size(); i += 2) {
          expect(items[i], Kind::kString, "a state dict key");
          const std::string& name = node(items[i]).text;
          expect(items[i + 1], Kind::kTensor, "state dict entry '" + name + "'");
          if (!names.insert(name).second) fail("state dict key '" + name + "' appears twice");
          PickledTensor tensor = tensors_[node(items[i + 1]).tensor];
          tensor.name = name;
          tensors.push_back(std::move(tensor));
        }
        return tensors;
      }
      default:
        fail(opcode_name(op_) + " at offset " + std::to_string(op_at_) +
             " is not allowed in a tensor state dict");
    }
  }
}

}  // namespace

std::size_t torch_dtype_size(TorchDtype dtype) {
  switch (dtype) {
    case TorchDtype::kF64:
    case TorchDtype::kI64:
      return 8;
    case TorchDtype::kF32:
    case TorchDtype::kI32:
      return 4;
    case TorchDtype::kF16:
    case TorchDtype::kBF16:
    case TorchDtype::kI16:
      return 2;
    case TorchDtype::kI8:
    case TorchDtype::kU8:
    case TorchDtype::kBool:
      return 1;
  }
  return 1;
}

std::string_view torch_dtype_name(TorchDtype dtype) {
  for (const auto& type : kStorageTypes) {
    if (type.dtype == dtype) return type.name.substr(0, type.name.size() - 7);  // minus "Storage"
  }
  return "?";
}

std::vector<PickledTensor> read_pickled_state_dict(std::span<const std::byte> pickle,
                                                   const std::string& origin) {
  return Interpreter(pickle, origin).run();
}

}  // namespace llama3::io
