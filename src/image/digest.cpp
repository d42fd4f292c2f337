#include "image/digest.hpp"

#include <openssl/evp.h>

#include <stdexcept>

#include "image/lazy_library.hpp"

// libcrypto, loaded when first used (image/lazy_library.hpp).
#define ELFPRUNE_CRYPTO(fn) ELFPRUNE_LAZY_CALL(::elfprune::libcrypto_library(), fn)
#define EVP_DigestFinal_ex(...) ELFPRUNE_CRYPTO(EVP_DigestFinal_ex)(__VA_ARGS__)
#define EVP_DigestInit_ex(...) ELFPRUNE_CRYPTO(EVP_DigestInit_ex)(__VA_ARGS__)
#define EVP_DigestUpdate(...) ELFPRUNE_CRYPTO(EVP_DigestUpdate)(__VA_ARGS__)
#define EVP_MD_CTX_free(...) ELFPRUNE_CRYPTO(EVP_MD_CTX_free)(__VA_ARGS__)
#define EVP_MD_CTX_new(...) ELFPRUNE_CRYPTO(EVP_MD_CTX_new)(__VA_ARGS__)
#define EVP_sha256(...) ELFPRUNE_CRYPTO(EVP_sha256)(__VA_ARGS__)

namespace elfprune {

struct Sha256::State {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(state_->ctx);  // (null is fine)
    throw std::runtime_error("libcrypto cannot start a SHA-256 digest");
  }
}

Sha256::~Sha256() {
  EVP_MD_CTX_free(state_->ctx);
}

void Sha256::update(const void* data, std::size_t size) {
  if (size > 0) EVP_DigestUpdate(state_->ctx, data, size);
}

std::string Sha256::digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->ctx, md, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

std::string sha256_digest(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.digest();
}

bool is_sha256_digest(std::string_view digest) {
  if (digest.size() != 71 || digest.substr(0, 7) != "sha256:") return false;
  for (char c : digest.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace elfprune
