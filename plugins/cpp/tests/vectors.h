// Access to tests/vectors/vectors.msgpack, written by make_vectors.py with the Python codec.
#pragma once

#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "merg/codec.h"

namespace merg_test {

class Vectors {
 public:
  static const Vectors& Get() {
    static const Vectors vectors;
    return vectors;
  }

  bool ok() const { return root_ != nullptr && root_->type == MSGPACK_OBJECT_MAP; }

  // A group ("client", "server", "aliases", "livelink").
  const msgpack_object* Group(const char* name) const {
    return ok() ? merg::FindKey(*root_, name) : nullptr;
  }

  // A `bin` of a map group as bytes (empty if absent).
  std::vector<uint8_t> Bin(const char* group, const char* name) const {
    const msgpack_object* map = Group(group);
    const msgpack_object* value = map != nullptr ? merg::FindKey(*map, name) : nullptr;
    if (value == nullptr || value->type != MSGPACK_OBJECT_BIN) return {};
    const auto* data = reinterpret_cast<const uint8_t*>(value->via.bin.ptr);
    return std::vector<uint8_t>(data, data + value->via.bin.size);
  }

 private:
  Vectors() {
    std::ifstream file(MERG_VECTORS_FILE, std::ios::binary);
    bytes_.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    if (!bytes_.empty()) root_ = decoder_.DecodeObject(bytes_.data(), bytes_.size());
  }

  std::vector<char> bytes_;
  merg::Decoder decoder_;
  const msgpack_object* root_ = nullptr;
};

inline std::vector<float> FloatsLe(const std::vector<uint8_t>& bytes) {
  std::vector<float> out(bytes.size() / 4);
  merg::ReadF32le(bytes.data(), out.size(), out.data());
  return out;
}

}  // namespace merg_test
