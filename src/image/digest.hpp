// SHA-256 digests as the image spec writes them ("sha256:<64 hex>"),
// computed by OpenSSL's libcrypto.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace elfprune {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // "sha256:<hex>"; the object is spent afterwards.
  std::string digest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256_digest(std::string_view bytes);

// "sha256:" and 64 lower-case hex digits: the only form accepted, so that
// a digest can name a file under blobs/sha256/ without escaping it.
bool is_sha256_digest(std::string_view digest);

// The hex part of a valid digest.
inline std::string_view digest_hex(std::string_view digest) {
  return digest.substr(7);
}

}  // namespace elfprune
